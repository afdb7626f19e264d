package sidecar_test

import (
	"context"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
	"github.com/clickvault/clickvault/sidecar/model"
)

// aheadOfStore is a store whose answers show this host's clock ahead of
// its own by ahead (coord.ClockedStore), as the S3 adapter measures it.
type aheadOfStore struct {
	*memstore.ObjectStore
	ahead time.Duration
}

func (s aheadOfStore) ClockOffset() (time.Duration, bool) { return -s.ahead, true }

// engineAhead is newEngine on a host whose clock runs ahead of the
// store's by ahead.
func engineAhead(t *testing.T, ahead time.Duration, opts sidecar.Options) *engine {
	t.Helper()
	e := newEngineWith(t, opts, engineShape{store: func(mem *memstore.ObjectStore) coord.ObjectStore { return aheadOfStore{mem, ahead} }})
	e.SetClock(func() time.Time { return time.Now().Add(ahead) })
	return e
}

// TestALivePinHoldsOnAHostAheadOfTheStore: on a host whose clock runs
// 90 s ahead of the store's, a pin, stamped on the store's clock, is
// judged on it too: the cleanup keeps the chain it pins and removes no
// pin. (Judged on the host's clock it was 90 s old, stale, and the chain
// a restore was reading was deleted.)
func TestALivePinHoldsOnAHostAheadOfTheStore(t *testing.T) {
	e := engineAhead(t, 90*time.Second, sidecar.Options{Retention: model.Retention{KeepFullBackups: 1}})
	e.backup(t, "")
	incr := e.backup(t, "")
	e.backup(t, model.KindFull)
	ctx := context.Background()
	pin, err := e.TakePin(ctx, "shop", sidecar.PinRestore, "req-1")
	if err != nil || pin == nil {
		t.Fatalf("take pin: %v", err)
	}
	defer pin.Release(ctx)
	pin.Narrow(ctx, incr.Name)
	rep, err := e.Cleanup(ctx, "shop", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Deleted) != 0 || len(rep.IgnoredPins) != 0 || len(e.pins(t)) != 1 {
		t.Fatalf("a live pin on a host 90 s ahead: deleted %v, ignored pins %+v, pins left %d; want the chain and the pin kept",
			rep.Deleted, rep.IgnoredPins, len(e.pins(t)))
	}
}

// TestALiveReplaceIsNotSweptOnAHostAheadOfTheStore: a replace stopped a
// moment ago, on a host whose clock runs 11 minutes ahead of the store's,
// is not taken for one left past RestoreWorkStaleAfter (10 minutes): its
// work record's heartbeat is judged on the store's clock it was stamped
// on, the sweep leaves its staging table, and its adoption finishes it.
func TestALiveReplaceIsNotSweptOnAHostAheadOfTheStore(t *testing.T) {
	e := engineAhead(t, sidecar.RestoreWorkStaleAfter+time.Minute, sidecar.Options{})
	e.backup(t, "")
	e.db.Create("shop", map[string]uint64{"orders": 99})
	id := e.stoppedReplace(t)
	e.SweepLeftovers(context.Background())
	if _, err := e.AdoptRestore(context.Background(), id, "", "shop", nil); err != nil {
		t.Fatalf("adopt a replace the sweep should have left alone: %v", err)
	}
	if got := e.db.Tables("shop")["orders"]; got != 10 {
		t.Fatalf("orders after the adopted replace: %d, want the backup's 10", got)
	}
}
