package main

import (
	"strings"
	"testing"
	"time"
)

// TestRightsCheckedAgainBeforeStart: alice's backup waits behind another
// backup of the same database; meanwhile her BACKUP grant is revoked. When
// her request's turn comes it is rejected, naming the right, instead of
// running on the rights it had when it was admitted.
func TestRightsCheckedAgainBeforeStart(t *testing.T) {
	h, uploads := newHeldBackupHarness(t) // the first backup runs until the REVOKE took effect
	first := h.request(h.ch, "action, database", "'backup', 'shop'")
	h.waitState(first, 30*time.Second, "running")
	queued := h.request(h.as("alice"), "action, database", "'backup', 'shop'")
	h.waitState(queued, 30*time.Second, "queued")

	var without []string
	for _, g := range sidecarUsers.Grants["alice"] {
		without = append(without, strings.ReplaceAll(g, "BACKUP, ", ""))
	}
	h.bed.ClickHouse.SetGrants("alice", without)
	h.restartEngine() // the REVOKE takes effect
	uploads.let()
	h.waitState(first, 2*time.Minute, "succeeded", "failed")
	st := h.waitState(queued, 2*time.Minute, "rejected", "succeeded", "failed")
	if st.state != "rejected" || !strings.Contains(st.message, "lacks BACKUP") || !strings.Contains(st.message, "checked again") {
		t.Fatalf("alice's queued backup after her BACKUP grant was revoked: %s %q", st.state, st.message)
	}
}
