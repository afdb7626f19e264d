package memstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
	"github.com/clickvault/clickvault/sidecar/internal/storetest"
)

// The same contract and lease tests as the S3 adapter's on MinIO.
func TestObjectStoreContract(t *testing.T) {
	storetest.Contract(context.Background(), t, memstore.New())
}

func TestLeaseOneWriter(t *testing.T) {
	storetest.LeaseOneWriter(context.Background(), t, memstore.New())
}

// The Object Lock contract, on a bucket without a lock and on a locked one.
func TestObjectLock(t *testing.T) {
	plain := memstore.New()
	storetest.ObjectLock(context.Background(), t, plain, plain, coord.BucketLock{})
	locked := memstore.New()
	locked.EnableObjectLock("GOVERNANCE", 1, time.Now)
	storetest.ObjectLock(context.Background(), t, locked, locked, coord.BucketLock{Enabled: true, Mode: "GOVERNANCE", Days: 1})
}
