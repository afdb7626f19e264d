package s3_test

import (
	"context"
	"crypto/md5" //nolint:gosec // checks the Content-MD5 header the adapter sends
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/s3"
)

// TestPutSendsContentMD5: every PUT carries Content-MD5, which AWS demands
// of each upload into a bucket whose Object Lock has a default retention
// (MinIO does not, so the test bed cannot show it).
func TestPutSendsContentMD5(t *testing.T) {
	var got, want string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sum := md5.Sum(body) //nolint:gosec // the header's own sum
		got, want = r.Header.Get("Content-MD5"), base64.StdEncoding.EncodeToString(sum[:])
		w.Header().Set("ETag", `"e"`)
	}))
	defer srv.Close()
	store, err := s3.New(context.Background(), s3.Config{Endpoint: srv.URL, Region: "us-east-1", Bucket: "b", AccessKey: "k", SecretKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Put(context.Background(), "lease", []byte(`{"owner":"x"}`), coord.PutCondition{IfNoneMatch: true}); err != nil {
		t.Fatal(err)
	}
	if got == "" || got != want {
		t.Fatalf("Content-MD5 %q, want %q", got, want)
	}
}

// TestLocationIsTheBucket: two stores of one endpoint and bucket are one
// place for the leases this process holds (coord.Located); another bucket
// is another.
func TestLocationIsTheBucket(t *testing.T) {
	ctx := context.Background()
	open := func(bucket string) coord.Located {
		store, err := s3.New(ctx, s3.Config{Endpoint: "http://127.0.0.1:9000", Region: "us-east-1", Bucket: bucket,
			AccessKey: "k", SecretKey: "s"})
		if err != nil {
			t.Fatal(err)
		}
		return store
	}
	a, b, other := open("copies"), open("copies"), open("backups")
	if a.Location() != b.Location() || a.Location() == other.Location() {
		t.Fatalf("locations %q, %q (one bucket) and %q (another)", a.Location(), b.Location(), other.Location())
	}
}
