package main

import (
	"testing"
	"time"
)

// TestScheduleRequestsBackups: with incremental_every and check_every set,
// the sidecar requests backups and checks by itself, through the requests
// table, as its own user; the catalog shows each backup checked good.
func TestScheduleRequestsBackups(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(100)
	addr := freeAddr(t)
	config := h.writeConfig("[schedule]\nincremental_every = \"3s\"\ncheck_every = \"4s\"\n[sidecar]\nlisten = \"" + addr + "\"\n")
	h.startSidecar(config, addr)
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if h.count("SELECT count() FROM clickvault.request_status WHERE state = 'succeeded' AND requested_by = '"+sidecarUser+"' AND action = 'backup'") >= 2 &&
			h.count("SELECT count() FROM clickvault.request_status WHERE state = 'succeeded' AND action = 'check'") >= 1 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := h.count("SELECT count() FROM clickvault.request_status WHERE state = 'succeeded' AND requested_by = '" + sidecarUser + "' AND action = 'backup'"); n < 2 {
		t.Fatalf("%d scheduled backups succeeded within a minute, want 2", n)
	}
	if n := h.count("SELECT count() FROM clickvault.request_status WHERE state = 'succeeded' AND requested_by = '" + sidecarUser + "' AND action = 'check'"); n < 1 {
		t.Fatalf("no scheduled check succeeded within a minute")
	}
	if n := h.count("SELECT count() FROM clickvault.backups FINAL WHERE check_status = 'good' AND checked_at IS NOT NULL"); n < 1 {
		t.Fatalf("the catalog shows no backup checked good")
	}
	chains := h.list()
	if len(chains) != 1 || chains[0].Depth < 2 {
		t.Fatalf("scheduled backups did not build one chain: %+v", chains)
	}
}
