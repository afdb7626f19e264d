package coord_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// twinTTL is the leases' time to live in these tests: a live holder
// renews every third of it (1 s), the watch lasts half of it (1.5 s), so
// a renewal held back half a second on a loaded machine is still seen.
const twinTTL = 3 * time.Second

// newRun names a run afresh for each test and each -count: a run seen
// gone is remembered for the process (goneRuns).
func newRun(what string) string { return what + "-" + uuid.NewString() }

// TestLeaseOfItsNameFromAnEarlierRunIsTakenBackOnceUnrenewed: a sidecar
// restarted after a crash finds its own name on a live lease written by
// its earlier run. Nothing renews it, so it takes it back after a third
// of the time to live and a little more, before the lease would expire.
func TestLeaseOfItsNameFromAnEarlierRunIsTakenBackOnceUnrenewed(t *testing.T) {
	store, ctx := memstore.New(), context.Background()
	before := coord.Holder{Name: "host/127.0.0.1:7480", Stable: true, Run: newRun("earlier-run-before")}
	for _, key := range []string{"k", "k2"} {
		if _, err := coord.AcquireLease(ctx, store, key, before, coord.PurposeBackup, twinTTL, time.Now, discard); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	after := before
	after.Run = newRun("earlier-run-after")
	if _, err := coord.AcquireLease(ctx, store, "k", after, coord.PurposeBackup, twinTTL, time.Now, discard); err != nil {
		t.Fatalf("the sidecar after a restart: %v", err)
	}
	if took := time.Since(start); took < twinTTL/3 || took >= twinTTL {
		t.Fatalf("took its lease back after %v, want after a renewal was due (%v) and before it expired (%v)",
			took, twinTTL/3, twinTTL)
	}
	if info := readLeaseInfo(t, store, "k"); info.Run != after.Run {
		t.Fatalf("the lease taken back records run %q, want %q", info.Run, after.Run)
	}
	// Its earlier run is known gone: its other lease is taken back at once.
	start = time.Now()
	if _, err := coord.AcquireLease(ctx, store, "k2", after, coord.PurposeBackup, twinTTL, time.Now, discard); err != nil {
		t.Fatalf("the second lease after a restart: %v", err)
	}
	if took := time.Since(start); took >= twinTTL/3 {
		t.Fatalf("took the second lease of a run seen gone after %v, want at once", took)
	}
}

// TestLeaseOfItsNameReleasedWhileWatchedIsTaken: the earlier run's lease
// is released while the restarted sidecar watches it (that run was alive
// and stopping): the lease is free, and taken.
func TestLeaseOfItsNameReleasedWhileWatchedIsTaken(t *testing.T) {
	store, ctx := memstore.New(), context.Background()
	stopping := coord.Holder{Name: "host/127.0.0.1:7480", Stable: true, Run: newRun("released-run-stopping")}
	lease, err := coord.AcquireLease(ctx, store, "k", stopping, coord.PurposeBackup, twinTTL, time.Now, discard)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(twinTTL/10, func() { _ = lease.Release(ctx) })
	next := stopping
	next.Run = newRun("released-run-next")
	if _, err := coord.AcquireLease(ctx, store, "k", next, coord.PurposeBackup, twinTTL, time.Now, discard); err != nil {
		t.Fatalf("a lease released while watched: %v", err)
	}
	if info := readLeaseInfo(t, store, "k"); info.Run != next.Run {
		t.Fatalf("the lease records run %q, want %q", info.Run, next.Run)
	}
}

func readLeaseInfo(t *testing.T, store coord.ObjectStore, key string) coord.LeaseInfo {
	t.Helper()
	data, _, err := store.Get(context.Background(), key)
	var info coord.LeaseInfo
	if err != nil || json.Unmarshal(data, &info) != nil {
		t.Fatalf("read lease %s: %v %s", key, err, data)
	}
	return info
}

// TestLeaseOfItsNameRenewedByATwinIsRefused: two live sidecars of one
// name (a copied configuration on a host of the same name): the second
// sees the first renew the lease and is refused, saying so; the first
// keeps it, and its work goes on.
func TestLeaseOfItsNameRenewedByATwinIsRefused(t *testing.T) {
	store, ctx := memstore.New(), context.Background()
	first := coord.Holder{Name: "host/127.0.0.1:7480", Stable: true, Run: newRun("twin-run-first")}
	lease, err := coord.AcquireLease(ctx, store, "k", first, coord.PurposeBackup, twinTTL, time.Now, discard)
	if err != nil {
		t.Fatal(err)
	}
	holding, stop := make(chan error, 1), make(chan struct{})
	go func() {
		holding <- lease.Hold(ctx, func(ctx context.Context) error {
			select {
			case <-stop:
				return nil
			case <-ctx.Done():
				return errors.New("the first sidecar's work was cancelled: " + context.Cause(ctx).Error())
			}
		})
	}()
	twin := first
	twin.Run = newRun("twin-run-second")
	_, err = coord.AcquireLease(ctx, store, "k", twin, coord.PurposeBackup, twinTTL, time.Now, discard)
	var held *coord.LeaseHeldError
	if !errors.As(err, &held) || !held.Twin || !strings.Contains(err.Error(), "two sidecars share one name") {
		t.Fatalf("a twin of the same name: %v, want a refusal that names the twin", err)
	}
	close(stop)
	if err := <-holding; err != nil {
		t.Fatalf("the first sidecar: %v", err)
	}
}

// TestLeaseOfThisRunHeldByAnotherTaskIsRefused: a live lease of this
// very process's run that it holds now (a copy round's, when a cleanup of
// the copy target comes) is another task's, not one a crash left: it is
// refused, saying so, and taken once that task released it.
func TestLeaseOfThisRunHeldByAnotherTaskIsRefused(t *testing.T) {
	store, ctx := memstore.New(), context.Background()
	sc := coord.Holder{Name: "host/127.0.0.1:7480", Stable: true, Run: newRun("this-run")}
	first, err := coord.AcquireLease(ctx, store, "k", sc, coord.PurposeBackup, time.Hour, time.Now, discard)
	if err != nil {
		t.Fatal(err)
	}
	_, err = coord.AcquireLease(ctx, store, "k", sc, coord.PurposeCleanup, time.Hour, time.Now, discard)
	var held *coord.LeaseHeldError
	if !errors.As(err, &held) || !held.Here || !strings.Contains(err.Error(), "another task of this sidecar") {
		t.Fatalf("a second task of the same process: %v, want a refusal naming this sidecar's other task", err)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := coord.AcquireLease(ctx, store, "k", sc, coord.PurposeCleanup, time.Hour, time.Now, discard); err != nil {
		t.Fatalf("after the first task released it: %v", err)
	}
}

// located is one bucket reached through a store value of its own, as a
// copy target is by its copier and by its reader.
type located struct {
	*memstore.ObjectStore
	where string
}

func (l located) Location() string { return l.where }

// TestLeaseOfThisRunHeldThroughAnotherStoreValueIsRefused: the copy round
// and a cleanup of the copy target reach one bucket through two store
// values; a lease one holds is the other's to wait for.
func TestLeaseOfThisRunHeldThroughAnotherStoreValueIsRefused(t *testing.T) {
	bucket, ctx := memstore.New(), context.Background()
	// Two values, as two s3.ObjectStore of one bucket are: only their
	// Location says they are one bucket.
	copier, cleaner := &located{bucket, "http://copy bucket"}, &located{bucket, "http://copy bucket"}
	sc := coord.Holder{Name: "host/127.0.0.1:7480", Stable: true, Run: newRun("two-values")}
	if _, err := coord.AcquireLease(ctx, copier, "k", sc, coord.PurposeCopy, time.Hour, time.Now, discard); err != nil {
		t.Fatal(err)
	}
	_, err := coord.AcquireLease(ctx, cleaner, "k", sc, coord.PurposeCleanup, time.Hour, time.Now, discard)
	var held *coord.LeaseHeldError
	if !errors.As(err, &held) || !held.Here {
		t.Fatalf("a cleanup through another value of the copy target's store: %v, want it refused", err)
	}
}

// TestLeaseTakenOverAfterExpiryKeepsItsRecordWhenTheOldOneIsReleased: a
// task's lease expired (its renewals failed) and another task of the same
// process took it over; the first task's release, when it comes, leaves
// the second's record: a third task still finds it held here.
func TestLeaseTakenOverAfterExpiryKeepsItsRecordWhenTheOldOneIsReleased(t *testing.T) {
	store, ctx := memstore.New(), context.Background()
	sc := coord.Holder{Name: "host/127.0.0.1:7480", Stable: true, Run: newRun("expired")}
	first, err := coord.AcquireLease(ctx, store, "k", sc, coord.PurposeCopy, 50*time.Millisecond, time.Now, discard)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(80 * time.Millisecond) // the first task's lease expires unrenewed
	if _, err := coord.AcquireLease(ctx, store, "k", sc, coord.PurposeCleanup, time.Hour, time.Now, discard); err != nil {
		t.Fatalf("a second task, after the first's lease expired: %v", err)
	}
	_ = first.Release(ctx)
	_, err = coord.AcquireLease(ctx, store, "k", sc, coord.PurposeBackup, time.Hour, time.Now, discard)
	var held *coord.LeaseHeldError
	if !errors.As(err, &held) || !held.Here {
		t.Fatalf("a third task while the second holds it: %v, want it refused as held here", err)
	}
}
