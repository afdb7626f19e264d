package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/testbed"
	"github.com/clickvault/clickvault/sidecar/s3"
)

// TestTransferCopiesWholeObjects copies objects of one size under and one
// over the single-request limit (lowered to 1 MiB, parts of 5 MiB: S3's
// smallest) server-side to another bucket of the same MinIO and streamed to
// a second MinIO; each arrives whole, byte for byte.
func TestTransferCopiesWholeObjects(t *testing.T) {
	bed := testbed.New(t, testbed.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	m, other := bed.MinIO, bed.StartMinIO(t, "far-copies")
	if _, err := m.Client().CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("near-copies")}); err != nil {
		t.Fatal(err)
	}
	open := func(mi *testbed.MinIO, bucket string) *s3.ObjectStore {
		store, err := s3.New(ctx, s3.Config{Endpoint: mi.Endpoint, Region: mi.Region, Bucket: bucket, AccessKey: mi.AccessKey, SecretKey: mi.SecretKey})
		if err != nil {
			t.Fatal(err)
		}
		return store
	}
	src := open(m, m.Bucket)
	objects := map[string][]byte{"small": randomBytes(t, 300<<10), "big": randomBytes(t, 11<<20+17)}
	for key, data := range objects {
		if _, err := src.Put(ctx, key, data, coord.PutCondition{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name       string
		dst        *s3.ObjectStore
		serverSide bool
	}{{"server-side", open(m, "near-copies"), true}, {"streamed", open(other, other.Bucket), false}} {
		transfer := s3.NewTransfer(src, c.dst, c.serverSide).WithParts(1<<20, 5<<20)
		for key, data := range objects {
			if err := transfer.Transfer(ctx, key, "copy/"+key, int64(len(data))); err != nil {
				t.Fatalf("%s: transfer %s: %v", c.name, key, err)
			}
			got, _, err := c.dst.Get(ctx, "copy/"+key)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s: %s arrived with %d bytes (want %d), equal: %v, err %v", c.name, key, len(got), len(data), bytes.Equal(got, data), err)
			}
		}
	}
	if err := s3.NewTransfer(src, open(other, other.Bucket), false).Transfer(ctx, "small", "copy/short", 5); err == nil {
		t.Fatal("an object whose size is not the one given was copied")
	}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(fmt.Errorf("random bytes: %w", err))
	}
	return b
}
