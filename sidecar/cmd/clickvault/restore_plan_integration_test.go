package main

import (
	"strings"
	"testing"
	"time"
)

// newPlanShop: shop.orders (1,000 rows) and shop.rmv, a refreshable view
// (its definer the sidecar's user, so nothing but the plan stops a restore)
// (every second) whose TO table is prod.sink, outside shop — the view that
// would write into production from a restored copy. Backed up once; rmv's
// own rows in prod.sink are then cleared, so any row there later came from
// a copy.
func newPlanShop(t *testing.T) *harness {
	h := newHarness(t)
	h.createShop(1000)
	h.exec("CREATE DATABASE prod")
	h.exec("CREATE TABLE prod.sink (n UInt64, t DateTime, db String) ENGINE = MergeTree ORDER BY t")
	h.exec("CREATE MATERIALIZED VIEW shop.rmv REFRESH EVERY 1 SECOND APPEND TO prod.sink DEFINER = clickvault SQL SECURITY DEFINER AS SELECT count() AS n, now() AS t, currentDatabase() AS db FROM shop.orders")
	h.mustRun("backup")
	h.exec("DROP TABLE shop.rmv SYNC") // production's own view stops: prod.sink is written by copies only from here
	h.exec("TRUNCATE TABLE prod.sink")
	return h
}

// sinkRows counts prod.sink once no refreshable view can still write into
// it unseen. Production's own rmv is dropped (newPlanShop), so every
// refreshable view on the server is a copy's: one restored stopped that
// never refreshed (system.view_refreshes: Disabled, no refresh) writes
// nothing and never will; one left running (the feature broken) is waited
// for until a refresh of it has ended, its rows then in prod.sink; with
// no view at all, nothing can write. No fixed wait: the count is taken as
// soon as every view is one or the other.
func (h *harness) sinkRows() uint64 {
	h.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for h.count("SELECT count() FROM system.view_refreshes WHERE NOT (status = 'Disabled' AND last_refresh_time IS NULL) "+
		"AND last_success_time IS NULL") > 0 {
		if time.Now().After(deadline) {
			h.t.Fatalf("a refreshable view is neither stopped nor done with a refresh after a minute; %s", h.viewRefreshes())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return h.count("SELECT count() FROM prod.sink")
}

func TestRestorePlanRefusesRefreshableViewWritingOutside(t *testing.T) {
	h := newPlanShop(t)
	r := h.run("", "restore", "--target", "shop_copy")
	if r.code != 1 || !strings.Contains(r.stderr, "rmv (a refreshable materialized view") ||
		!strings.Contains(r.stderr, "writes into prod.sink, outside shop") || !strings.Contains(r.stderr, "consumers = 'skip'") {
		t.Fatalf("restore with a refreshable view: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if h.databaseExists("shop_copy") {
		t.Fatal("a refused restore created shop_copy")
	}
	r = h.mustRun("restore", "--target", "shop_copy", "--dry-run")
	if !strings.Contains(r.stdout, "refuse          materialized view rmv: a refreshable") ||
		!strings.Contains(r.stdout, "restore         table orders (MergeTree)") || h.databaseExists("shop_copy") {
		t.Fatalf("dry run:\n%s", r.stdout)
	}
	r = h.mustRun("restore", "--target", "shop_copy", "--consumers", "skip", "--dry-run")
	if !strings.Contains(r.stdout, "skip            materialized view rmv") || h.databaseExists("shop_copy") {
		t.Fatalf("dry run with skip:\n%s", r.stdout)
	}
	r = h.mustRun("restore", "--target", "shop_copy", "--consumers", "skip")
	if got := h.count("SELECT count() FROM shop_copy.orders"); got != 1000 {
		t.Fatalf("shop_copy.orders has %d rows, want 1000\n%s", got, r.stdout)
	}
	if n := h.count("SELECT count() FROM system.tables WHERE database = 'shop_copy' AND name = 'rmv'"); n != 0 {
		t.Fatal("consumers skip restored rmv")
	}
	if n := h.sinkRows(); n != 0 {
		t.Fatalf("after the restore prod.sink got %d rows from a copy", n)
	}
}

func TestVerifyLeavesOutRefreshableViewWritingOutside(t *testing.T) {
	h := newPlanShop(t)
	r := h.mustRun("verify")
	if !strings.Contains(r.stdout, "verify passed") || !strings.Contains(r.stdout, "rmv: left out, not verified: a refreshable") {
		t.Fatalf("verify:\n%s\n%s", r.stdout, r.stderr)
	}
	if n := h.sinkRows(); n != 0 {
		t.Fatalf("after a verify prod.sink got %d rows from its scratch copy", n)
	}
}

// TestRestoreIncludeFromTheCLI (issue 22): restore --consumers include
// (the operator's) restores rmv stopped: it never refreshed, and prod.sink,
// which it writes into, gets no row (sinkRows); the plan
// printed says so. verify still leaves it out.
func TestRestoreIncludeFromTheCLI(t *testing.T) {
	h := newPlanShop(t)
	r := h.mustRun("restore", "--target", "shop_restored", "--consumers", "include")
	if !strings.Contains(r.stdout, "restore stopped materialized view rmv") {
		t.Fatalf("restore:\n%s", r.stdout)
	}
	if n := h.count("SELECT count() FROM system.view_refreshes WHERE database = 'shop_restored' AND view = 'rmv' AND status = 'Disabled' " +
		"AND last_refresh_time IS NULL"); n != 1 {
		t.Fatal("rmv is not restored stopped")
	}
	if n := h.sinkRows(); n != 0 {
		t.Fatalf("after the restore prod.sink got %d rows from the stopped view", n)
	}
	if r := h.mustRun("verify"); !strings.Contains(r.stdout, "rmv: left out, not verified") {
		t.Fatalf("verify:\n%s", r.stdout)
	}
	if n := h.sinkRows(); n != 0 {
		t.Fatalf("after a verify prod.sink got %d rows", n)
	}
}

// TestRestoreDryRunNotifiesNothing (issue 22): a dry run restores
// nothing, so the hooks hear nothing (before: restore_completed); the
// restore after it is notified.
func TestRestoreDryRunNotifiesNothing(t *testing.T) {
	h := newPlanShop(t)
	h.mustRun("restore", "--target", "shop_copy", "--consumers", "skip", "--dry-run")
	if n, f := len(h.hook.received("restore_completed")), len(h.hook.received("restore_failed")); n+f != 0 {
		t.Fatalf("a dry run notified %d restore_completed, %d restore_failed", n, f)
	}
	h.mustRun("restore", "--target", "shop_copy", "--consumers", "skip")
	if n := len(h.hook.received("restore_completed")); n != 1 {
		t.Fatalf("the restore notified %d restore_completed, want 1", n)
	}
}
