package testbed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// StartMinIO starts another MinIO process beside the bed's, with its own
// port, data, credentials and bucket: a second S3 (a copy target) that
// fails or is stopped on its own. It stops when t ends.
func (b *Bed) StartMinIO(t testing.TB, bucket string) *MinIO {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, err := MinIOBinary(ctx)
	if err != nil {
		t.Fatalf("a second MinIO is needed and could not be had: %v", err)
	}
	root := b.Dir
	if root == "" { // a bed made by hand around a cluster's node: never the working directory
		root = t.TempDir()
	}
	dir := filepath.Join(root, "minio-"+bucket)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	m := newMinIO(dir, bin, bucket)
	m.AccessKey, m.SecretKey = "clickvault-second", "clickvault-second-secret"
	if err := m.start(ctx); err != nil {
		t.Fatalf("a second MinIO is needed and could not start: %v", err)
	}
	t.Cleanup(m.Stop)
	if err := m.createBucket(ctx, bucket, 0); err != nil {
		t.Fatal(fmt.Errorf("second MinIO: %w", err))
	}
	return m
}
