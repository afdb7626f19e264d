package coord_test

import (
	"context"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// deadRunHere is the run of a sidecar of this machine that was killed,
// its mark kept in the test's own folder.
func deadRunHere(t *testing.T) string {
	t.Helper()
	t.Setenv("RUNTIME_DIRECTORY", "")
	t.Setenv("TMPDIR", t.TempDir())
	run, err := coord.DeadRunHere()
	if err != nil {
		t.Fatalf("a killed run of this machine: %v (the test needs Linux's /proc)", err)
	}
	return run
}

// TestALeaseOfAKilledRunHereIsTakenBackAtOnce: a sidecar restarted on the
// machine where its earlier run was killed takes that run's live lease
// back at once, the kernel having shown its process gone, not after
// watching it for half its time to live (10 s here).
func TestALeaseOfAKilledRunHereIsTakenBackAtOnce(t *testing.T) {
	store, ctx := memstore.New(), context.Background()
	before := coord.Holder{Name: "host/127.0.0.1:7480", Stable: true, Run: deadRunHere(t)}
	const ttl = 20 * time.Second
	if _, err := coord.AcquireLease(ctx, store, "k", before, coord.PurposeBackup, ttl, time.Now, discard); err != nil {
		t.Fatal(err)
	}
	after := before
	after.Run = coord.ProcessRun
	start := time.Now()
	l, err := coord.AcquireLease(ctx, store, "k", after, coord.PurposeBackup, ttl, time.Now, discard)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Release(ctx) }()
	if took := time.Since(start); took > ttl/4 {
		t.Fatalf("the lease of a killed run of this machine was taken back after %v, want at once (the watch is %v)", took, ttl/2)
	}
}

// TestAClaimOfAKilledRunHereIsTakenBackAtOnce: so too its request claims,
// with no 30 s watch of the heartbeat first.
func TestAClaimOfAKilledRunHereIsTakenBackAtOnce(t *testing.T) {
	store, ctx := memstore.New(), context.Background()
	layout := coord.Layout{Prefix: "p"}
	killed := coord.NewClaims(store, layout, "host/127.0.0.1:7480", discard)
	killed.SetRun(deadRunHere(t))
	if ok, err := killed.Claim(ctx, "r1"); !ok || err != nil {
		t.Fatalf("the killed run's claim: %v %v", ok, err)
	}
	restarted := coord.NewClaims(store, layout, "host/127.0.0.1:7480", discard)
	if ok, err := restarted.Claim(ctx, "r1"); !ok || err != nil {
		t.Fatalf("the restarted run's claim of the request its killed run held: %v %v, want it taken back at once", ok, err)
	}
}
