package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
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

// TestStreamedTransferCarriesContentMD5: every streamed request (one PUT,
// or each part of a bigger object) carries the Content-MD5 of its bytes,
// which a bucket with Object Lock requires; and the target checks it: a
// byte changed on the way (a proxy flips one) makes the transfer fail
// rather than store what was not sent.
func TestStreamedTransferCarriesContentMD5(t *testing.T) {
	bed := testbed.New(t, testbed.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	m, other := bed.MinIO, bed.StartMinIO(t, "far-copies")
	target, err := url.Parse(other.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var sends, withMD5 int
	var flip atomic.Bool
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			mu.Lock()
			sends++
			if r.Header.Get("Content-MD5") != "" {
				withMD5++
			}
			mu.Unlock()
			if flip.Load() {
				body, _ := io.ReadAll(r.Body)
				body[len(body)/2] ^= 0xff
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	src, err := s3.New(ctx, s3.Config{Endpoint: m.Endpoint, Region: m.Region, Bucket: m.Bucket, AccessKey: m.AccessKey, SecretKey: m.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := s3.New(ctx, s3.Config{Endpoint: srv.URL, Region: other.Region, Bucket: other.Bucket, AccessKey: other.AccessKey, SecretKey: other.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	objects := map[string][]byte{"small": randomBytes(t, 300<<10), "big": randomBytes(t, 11<<20+17)}
	for key, data := range objects {
		if _, err := src.Put(ctx, key, data, coord.PutCondition{}); err != nil {
			t.Fatal(err)
		}
	}
	transfer := s3.NewTransfer(src, dst, false).WithParts(1<<20, 5<<20)
	for key, data := range objects {
		if err := transfer.Transfer(ctx, key, "copy/"+key, int64(len(data))); err != nil {
			t.Fatalf("transfer %s: %v", key, err)
		}
	}
	mu.Lock()
	got, of := withMD5, sends
	mu.Unlock()
	if of < 4 || got != of { // small in one PUT, big in three parts (more if the SDK retried one)
		t.Fatalf("%d of %d streamed requests carried Content-MD5, want all of at least 4", got, of)
	}
	flip.Store(true)
	for key, data := range objects {
		if err := transfer.Transfer(ctx, key, "tampered/"+key, int64(len(data))); err == nil {
			t.Errorf("%s: bytes changed on the way were stored", key)
		}
	}
}
