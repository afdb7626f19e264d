package main

import (
	"testing"
	"time"
)

// TestCLIRunsReachTheBackupsTableOfARunningSidecar: the sidecar mirrors
// S3 into clickvault.backups after its own requests; a cron job's
// `clickvault backup` and `check` beside it showed there (and on the
// status page, and in the age metric) only at the database's next
// request or scheduled check. The CLI now asks the sidecar, through the
// bucket, to mirror what it changed.
func TestCLIRunsReachTheBackupsTableOfARunningSidecar(t *testing.T) {
	h, _ := newSidecarHarness(t, 100, "poll_interval = \"200ms\"\n")
	if r := h.run("", "backup"); r.code != 0 {
		t.Fatalf("backup: exit %d: %s", r.code, r.stderr)
	}
	h.waitCount("SELECT count() FROM clickvault.backups FINAL WHERE database = 'shop' AND status = 'completed'", 1, 30*time.Second)
	if r := h.run("", "check"); r.code != 0 {
		t.Fatalf("check: exit %d: %s", r.code, r.stderr)
	}
	h.waitCount("SELECT count() FROM clickvault.backups FINAL WHERE database = 'shop' AND check_status = 'good'", 1, 30*time.Second)
}

// waitCount waits until query counts want, failing after within.
func (h *harness) waitCount(query string, want uint64, within time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(within)
	got := h.count(query)
	for got != want && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		got = h.count(query)
	}
	if got != want {
		h.t.Fatalf("%s: %d after %s, want %d", query, got, within, want)
	}
}
