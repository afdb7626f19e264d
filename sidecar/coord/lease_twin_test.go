package coord_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// twinTTL is the leases' time to live in these tests: a live holder
// renews every third of it.
const twinTTL = 600 * time.Millisecond

// TestLeaseOfItsNameFromAnEarlierRunIsTakenBackOnceUnrenewed: a sidecar
// restarted after a crash finds its own name on a live lease written by
// its earlier run. Nothing renews it, so it takes it back after a third
// of the time to live and a little more, before the lease would expire.
func TestLeaseOfItsNameFromAnEarlierRunIsTakenBackOnceUnrenewed(t *testing.T) {
	store, ctx := memstore.New(), context.Background()
	before := coord.Holder{Name: "host/127.0.0.1:7480", Stable: true, Run: "run-1"}
	if _, err := coord.AcquireLease(ctx, store, "k", before, coord.PurposeBackup, twinTTL, time.Now, discard); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	after := before
	after.Run = "run-2"
	if _, err := coord.AcquireLease(ctx, store, "k", after, coord.PurposeBackup, twinTTL, time.Now, discard); err != nil {
		t.Fatalf("the sidecar after a restart: %v", err)
	}
	if took := time.Since(start); took < twinTTL/3 || took >= twinTTL {
		t.Fatalf("took its lease back after %v, want after a renewal was due (%v) and before it expired (%v)",
			took, twinTTL/3, twinTTL)
	}
}

// TestLeaseOfItsNameRenewedByATwinIsRefused: two live sidecars of one
// name (a copied configuration on a host of the same name): the second
// sees the first renew the lease and is refused, saying so; the first
// keeps it, and its work goes on.
func TestLeaseOfItsNameRenewedByATwinIsRefused(t *testing.T) {
	store, ctx := memstore.New(), context.Background()
	first := coord.Holder{Name: "host/127.0.0.1:7480", Stable: true, Run: "run-1"}
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
	twin.Run = "run-2"
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

// TestLeaseOfItsNameFromThisRunIsTakenBackAtOnce: the same run (a lease
// it holds itself, or a test's holders without runs) takes its own live
// lease back without watching it.
func TestLeaseOfItsNameFromThisRunIsTakenBackAtOnce(t *testing.T) {
	store, ctx := memstore.New(), context.Background()
	sc := coord.Holder{Name: "host/127.0.0.1:7480", Stable: true, Run: "run-1"}
	if _, err := coord.AcquireLease(ctx, store, "k", sc, coord.PurposeBackup, time.Hour, time.Now, discard); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := coord.AcquireLease(ctx, store, "k", sc, coord.PurposeBackup, time.Hour, time.Now, discard); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took its own run's lease back after %v, want at once", took)
	}
}
