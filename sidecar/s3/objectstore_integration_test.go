package s3_test

import (
	"context"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/internal/storetest"
	"github.com/clickvault/clickvault/sidecar/internal/testbed"
	"github.com/clickvault/clickvault/sidecar/s3"
)

func newStore(t *testing.T) (*s3.ObjectStore, context.Context) {
	bed := testbed.New(t, testbed.Options{})
	m := bed.MinIO
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	store, err := s3.New(ctx, s3.Config{Endpoint: m.Endpoint, Region: m.Region, Bucket: m.Bucket, AccessKey: m.AccessKey, SecretKey: m.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	return store, ctx
}

// TestObjectStoreContract runs the store contract on real MinIO.
func TestObjectStoreContract(t *testing.T) {
	store, ctx := newStore(t)
	storetest.Contract(ctx, t, store)
}

// TestLeaseOneWriter runs the lease's one-writer test on real MinIO.
func TestLeaseOneWriter(t *testing.T) {
	store, ctx := newStore(t)
	storetest.LeaseOneWriter(ctx, t, store)
}
