package s3_test

import (
	"context"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/storetest"
	"github.com/clickvault/clickvault/sidecar/internal/testbed"
	"github.com/clickvault/clickvault/sidecar/s3"
)

func newStore(t *testing.T, opts testbed.Options) (*s3.ObjectStore, context.Context) {
	bed := testbed.New(t, opts)
	m := bed.MinIO
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	store, err := s3.New(ctx, s3.Config{Endpoint: m.Endpoint, Region: m.Region, Bucket: m.Bucket, AccessKey: m.AccessKey, SecretKey: m.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	return store, ctx
}

// TestObjectStoreContract runs the store contract on real MinIO, and the
// Object Lock contract on its bucket without a lock.
func TestObjectStoreContract(t *testing.T) {
	store, ctx := newStore(t, testbed.Options{})
	storetest.Contract(ctx, t, store)
	storetest.ObjectLock(ctx, t, store, store, coord.BucketLock{})
}

// TestLeaseOneWriter runs the lease's one-writer test on real MinIO.
func TestLeaseOneWriter(t *testing.T) {
	store, ctx := newStore(t, testbed.Options{})
	storetest.LeaseOneWriter(ctx, t, store)
}

// TestLockedBucket runs the store contract, the lease's one-writer test
// and the Object Lock contract on a versioned MinIO bucket whose Object
// Lock holds every version a day: overwrites make versions, deletes make
// delete markers, and conditional writes and the lease answer as on a
// plain bucket.
func TestLockedBucket(t *testing.T) {
	store, ctx := newStore(t, testbed.Options{ObjectLockDays: 1})
	storetest.Contract(ctx, t, store)
	storetest.LeaseOneWriter(ctx, t, store)
	storetest.ObjectLock(ctx, t, store, store, coord.BucketLock{Enabled: true, Mode: "GOVERNANCE", Days: 1})
}
