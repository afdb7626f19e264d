package memstore_test

import (
	"context"
	"testing"

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
