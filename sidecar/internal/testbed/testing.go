package testbed

import (
	"context"
	"testing"
	"time"
)

// New starts a test bed for t and stops it when t ends. It never skips for a
// missing engine or MinIO: a test that needs them and cannot have them fails
// with the reason. Only `go test -short` skips it, for pure unit runs.
func New(t testing.TB, opts Options) *Bed {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the test bed (ClickHouse engine and MinIO); run without -short")
	}
	// The first run on a machine downloads libchdb and builds MinIO.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	bed, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("the test bed is needed and could not start: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("test bed logs:\n%s", bed.Logs())
		}
		bed.Close()
	})
	return bed
}
