package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// killPoints are the moments of a backup request's life at which a crash
// once made ClickVault take a second backup for one request, or leave a
// misleading failed folder.
var killPoints = []string{"claimed", "meta-written", "backup-sent", "backup-created"}

// TestFaultKillPointsExactlyOnce: the sidecar is killed (SIGKILL, by its own
// fault hook) at each point of a backup request's life, then restarted.
// Each request gets one terminal answer, one backup folder and one catalog
// row, and every backup builds on the one before: one unbroken chain. The
// default run kills once per point; `task faults` ten times
// (CLICKVAULT_KILL_ROUNDS).
func TestFaultKillPointsExactlyOnce(t *testing.T) {
	rounds := envInt("CLICKVAULT_KILL_ROUNDS", 1)
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(1000)
	addr := freeAddr(t)
	config := h.sidecarConfig(addr, "poll_interval = \"200ms\"\n")
	h.startSidecar(config, addr).kill() // sets up the control tables
	kills := 0
	for round := 0; round < rounds; round++ {
		for _, point := range killPoints {
			h.killAt(config, addr, point)
			kills++
			h.addRows(1000+kills, 1)
		}
	}
	chains := h.list()
	if len(chains) != 1 || chains[0].Depth != kills {
		t.Fatalf("%d kills: want one chain of %d backups, got %+v", kills, kills, chains)
	}
	t.Logf("%d kills, %d backups, one chain, no duplicate", kills, kills)
}

// killAt runs one backup request through a sidecar that kills itself at
// point, restarts the sidecar, and checks the request's one answer, one
// folder and one catalog row.
func (h *harness) killAt(config, addr, point string) {
	h.t.Helper()
	folders, rows := h.metaObjects(), h.count("SELECT count() FROM clickvault.backups FINAL WHERE status != 'deleted'")
	sc := h.startSidecarWith(config, addr, envFaultPoint+"="+point)
	id := h.request(h.ch, "action, database", "'backup', 'shop'")
	select {
	case <-sc.exited:
	case <-time.After(time.Minute):
		h.t.Fatalf("the sidecar did not kill itself at %s", point)
	}
	restarted := h.startSidecar(config, addr)
	st := h.waitState(id, 2*time.Minute, "succeeded", "failed", "rejected")
	if st.state != "succeeded" {
		h.t.Fatalf("killed at %s: the request ended %s %q", point, st.state, st.message)
	}
	terminal := h.count(fmt.Sprintf("SELECT count() FROM clickvault.request_log WHERE request_id = '%s' "+
		"AND state IN ('succeeded', 'failed', 'rejected', 'cancelled')", id))
	if terminal != 1 {
		h.t.Fatalf("killed at %s: %d terminal answers", point, terminal)
	}
	if got := h.metaObjects(); got != folders+1 {
		h.t.Fatalf("killed at %s: %d backup folders for one request", point, got-folders)
	}
	deadline := time.Now().Add(30 * time.Second)
	got := h.count("SELECT count() FROM clickvault.backups FINAL WHERE status != 'deleted'")
	for ; got != rows+1 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		got = h.count("SELECT count() FROM clickvault.backups FINAL WHERE status != 'deleted'")
	}
	if got != rows+1 {
		h.t.Fatalf("killed at %s: %d catalog rows for one request", point, got-rows)
	}
	restarted.kill()
}

// metaObjects counts the backup folders of shop in S3 by their metadata.
func (h *harness) metaObjects() uint64 {
	h.t.Helper()
	keys, err := h.bed.MinIO.Keys(h.ctx, "cv/test/shop/")
	if err != nil {
		h.t.Fatal(err)
	}
	var n uint64
	for _, k := range keys {
		if strings.HasSuffix(k, "/.clickvault_meta.json") {
			n++
		}
	}
	return n
}
