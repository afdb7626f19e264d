package sidecar_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

var ordersOnly = []model.TableRestore{{Source: "orders", Target: "orders"}}

// noStaging fails if a staging table is left in shop.
func noStaging(t *testing.T, e *engine) {
	t.Helper()
	for name := range e.db.Tables("shop") {
		if strings.HasPrefix(name, "clickvault_staging_") {
			t.Fatalf("staging table %s left in shop: %v", name, e.db.Tables("shop"))
		}
	}
}

// TestReplaceSwapsIn: a replace restores beside the table and swaps it in
// with one EXCHANGE; the old table is dropped, nothing else changes.
func TestReplaceSwapsIn(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	e.backup(t, "")
	e.db.Create("shop", map[string]uint64{"orders": 99, "items": 7})
	res, err := e.Restore(context.Background(), sidecar.RestoreRequest{Database: "shop", Tables: ordersOnly, Mode: model.ModeReplace})
	if err != nil || res.Tables["orders"] != 10 || e.db.Tables("shop")["items"] != 7 {
		t.Fatalf("replace: %v, %+v, shop %v", err, res, e.db.Tables("shop"))
	}
	calls := e.db.Calls()
	if len(calls) != 1 || !strings.HasPrefix(calls[0], "EXCHANGE shop.orders clickvault_staging_") {
		t.Fatalf("want one EXCHANGE, got %v", calls)
	}
	noStaging(t, e)
}

// TestReplaceFailureKeepsTheTable: a RESTORE that fails, a staging copy
// that differs from the backup, a swap that fails: the live table keeps
// every row and no staging table is left; the error says so.
func TestReplaceFailureKeepsTheTable(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	e.backup(t, "")
	e.db.Create("shop", map[string]uint64{"orders": 99})
	ctx := context.Background()
	replace := sidecar.RestoreRequest{Database: "shop", Tables: ordersOnly, Mode: model.ModeReplace}

	e.db.FailNextRestore("Code: 499. DB::Exception: The specified key does not exist. (S3_ERROR)")
	_, err := e.Restore(ctx, replace)
	if err == nil || !strings.Contains(err.Error(), "S3_ERROR") || !strings.Contains(err.Error(), "live tables were not changed") {
		t.Fatalf("failed restore: %v", err)
	}
	if got := e.db.Tables("shop")["orders"]; got != 99 {
		t.Fatalf("a failed replace left orders with %d rows, want the 99 it had", got)
	}
	noStaging(t, e)

	// The swap itself fails (the engine check passed, EXCHANGE is refused).
	e.db.OnChange(func(op, _, _ string) { e.db.SetEngine("shop", "Memory") })
	_, err = e.Restore(ctx, replace)
	if err == nil || !strings.Contains(err.Error(), "renameTable") || e.db.Tables("shop")["orders"] != 99 {
		t.Fatalf("a failed swap: %v, orders %d", err, e.db.Tables("shop")["orders"])
	}
	noStaging(t, e)
	e.db.OnChange(nil)
	if _, err := e.Restore(ctx, replace); !errors.Is(err, model.ErrCannotExchange) || len(e.db.Calls()) != 0 {
		t.Fatalf("replace in a Memory database: %v, calls %v", err, e.db.Calls())
	}
	if got := e.db.Tables("shop")["orders"]; got != 99 {
		t.Fatalf("a refused replace changed orders: %d rows", got)
	}
	noStaging(t, e)
}

// TestReplacePartitionsInPlace is measurement 0 on the fake: February is
// replaced from the backup, January and March are untouched; a partition
// the backup does not hold is refused before anything changes.
func TestReplacePartitionsInPlace(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	e.db.SetPartitions("shop", "events", map[string]uint64{"202601": 31000, "202602": 28000, "202603": 31777})
	e.backup(t, "")
	e.db.SetPartitions("shop", "events", map[string]uint64{"202601": 31001, "202602": 5, "202603": 31778})
	ctx := context.Background()
	events := []model.TableRestore{{Source: "events", Target: "events"}}
	req := sidecar.RestoreRequest{Database: "shop", Tables: events, Partitions: []string{"202602"}, Mode: model.ModeReplace}
	if _, err := e.Restore(ctx, req); err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{"202601": 31001, "202602": 28000, "202603": 31778}
	if got := e.db.Partitions("shop", "events"); !maps.Equal(got, want) {
		t.Fatalf("partitions after replacing 202602: %v, want %v", got, want)
	}
	noStaging(t, e)

	req.Partitions = []string{"202602", "209901"}
	_, err := e.Restore(ctx, req)
	if err == nil || !strings.Contains(err.Error(), "holds 1 of the 2 partitions") {
		t.Fatalf("a partition the backup does not hold: %v", err)
	}
	if got := e.db.Partitions("shop", "events"); !maps.Equal(got, want) {
		t.Fatalf("a refused partition replace changed the table: %v", got)
	}
	noStaging(t, e)
}

// TestFailedRestoreRemovesWhatItCreated is measurement 3 on the fake: a
// whole-database restore into a new database, and a table restore into a
// new table, that fail leave nothing behind.
func TestFailedRestoreRemovesWhatItCreated(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	e.backup(t, "")
	ctx := context.Background()
	e.db.FailNextRestore("Code: 497. DB::Exception: necessary to have the grant SET DEFINER. (ACCESS_DENIED)")
	_, err := e.Restore(ctx, sidecar.RestoreRequest{Database: "shop", Target: "shop_copy"})
	if err == nil || !strings.Contains(err.Error(), "database shop_copy, which this restore created, is dropped") {
		t.Fatalf("failed restore: %v", err)
	}
	if e.db.Tables("shop_copy") != nil {
		t.Fatalf("shop_copy left behind: %v", e.db.Tables("shop_copy"))
	}
	e.db.Create("analysis", map[string]uint64{"kept": 3})
	e.db.FailNextRestore("Code: 499. DB::Exception: S3_ERROR")
	_, err = e.Restore(ctx, sidecar.RestoreRequest{Database: "shop", Target: "analysis", Tables: ordersOnly})
	if err == nil || !strings.Contains(err.Error(), "the tables it created (orders) are dropped") {
		t.Fatalf("failed table restore: %v", err)
	}
	if got := e.db.Tables("analysis"); len(got) != 1 || got["kept"] != 3 {
		t.Fatalf("analysis after a failed restore: %v", got)
	}
}

// TestAdoptReplace: the sidecar stops while the RESTORE of a replace runs;
// the next run adopts it and finishes the swap. Another replace stopped
// the same way and left alone past RestoreWorkStaleAfter is swept at start:
// its staging table is dropped and its adoption says it was not finished.
func TestAdoptReplace(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	e.backup(t, "")
	e.db.Create("shop", map[string]uint64{"orders": 99})
	id := e.stoppedReplace(t)
	if got := e.db.Tables("shop")["orders"]; got != 99 {
		t.Fatalf("orders changed before the swap: %d", got)
	}
	if _, err := e.AdoptRestore(context.Background(), id, "", "shop", nil); err != nil {
		t.Fatalf("adopt: %v", err)
	}
	if got := e.db.Tables("shop")["orders"]; got != 10 {
		t.Fatalf("orders after the adopted replace: %d, want the backup's 10", got)
	}
	noStaging(t, e)

	e.db.Create("shop", map[string]uint64{"orders": 99})
	id = e.stoppedReplace(t)
	e.SetClock(func() time.Time { return time.Now().Add(sidecar.RestoreWorkStaleAfter + time.Minute) })
	e.SweepLeftovers(context.Background())
	noStaging(t, e)
	_, err := e.AdoptRestore(context.Background(), id, "", "shop", nil)
	if err == nil || !strings.Contains(err.Error(), "not finished") || e.db.Tables("shop")["orders"] != 99 {
		t.Fatalf("adopt a swept replace: %v, orders %d", err, e.db.Tables("shop")["orders"])
	}
}

// TestHalfUndoneRestoreIsNeverAnsweredDone: a table restore stopped while
// its RESTORE runs, left past RestoreWorkStaleAfter, is undone by the
// start-up sweep; one of its drops fails, so the undo stops half-way. The
// adoption that follows must not answer it done (a table it restored is
// gone): it fails, saying the restore was not finished, and what the undo
// left is removed.
func TestHalfUndoneRestoreIsNeverAnsweredDone(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	e.backup(t, "")
	e.db.Create("analysis", map[string]uint64{"kept": 3})
	both := []model.TableRestore{{Source: "items", Target: "items"}, {Source: "orders", Target: "orders"}}
	e.db.Hold()
	ctx, cancel := context.WithCancel(context.Background())
	var id string
	_, err := e.Restore(ctx, sidecar.RestoreRequest{Database: "shop", Target: "analysis", Tables: both,
		Started: func(_ model.Backup, op string) { id = op; cancel() }})
	if err == nil || id == "" {
		t.Fatalf("a stopped restore: %v, operation %q", err, id)
	}
	e.db.Release()
	e.SetClock(func() time.Time { return time.Now().Add(sidecar.RestoreWorkStaleAfter + time.Minute) })
	e.db.FailNextDrop("analysis", "orders")
	e.SweepLeftovers(context.Background())
	_, err = e.AdoptRestore(context.Background(), id, "", "analysis", nil)
	if err == nil || !strings.Contains(err.Error(), "not finished") {
		t.Fatalf("adopting a restore whose undo stopped half-way: %v, tables %v", err, e.db.Tables("analysis"))
	}
	if got := e.db.Tables("analysis"); len(got) != 1 || got["kept"] != 3 {
		t.Fatalf("analysis after the undo was finished: %v, want only kept", got)
	}
}
