package main

import (
	"strings"
	"testing"
	"time"
)

// TestRowCountsAreCount: after lightweight DELETEs (rows masked in their
// parts), the counts ClickVault reports and verify compares are what
// SELECT count() returns.
func TestRowCountsAreCount(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(10_000)
	h.exec("DELETE FROM shop.orders WHERE id % 10 = 0")
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, ""), addr)
	alice := h.as("alice")
	backup := h.request(alice, "action, database", "'backup', 'shop'")
	h.waitState(backup, time.Minute, "succeeded")
	restore := h.request(alice, "action, database, target", "'restore', 'shop', 'shop_restored'")
	st := h.waitState(restore, time.Minute, "succeeded", "failed", "rejected")
	if got := h.count("SELECT count() FROM shop_restored.orders"); got != 9_000 {
		t.Fatalf("restored count() = %d, want 9000", got)
	}
	if !strings.Contains(st.message, "9000 rows") {
		t.Errorf("the restore reports %q; count() of the restored table is 9000", st.message)
	}
	verify := h.request(h.ch, "action, database", "'verify', 'shop'")
	if st := h.waitState(verify, time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" {
		t.Errorf("verify after lightweight deletes: %s %q", st.state, st.message)
	}
}
