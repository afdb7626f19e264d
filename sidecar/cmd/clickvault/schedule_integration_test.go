package main

import (
	"testing"
	"time"
)

// TestScheduleRequestsBackups: with incremental_every set, the sidecar
// requests backups by itself, through the requests table, as its own user.
func TestScheduleRequestsBackups(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(100)
	addr := freeAddr(t)
	config := h.writeConfig("[schedule]\nincremental_every = \"3s\"\n[sidecar]\nlisten = \"" + addr + "\"\n")
	h.startSidecar(config, addr)
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if h.count("SELECT count() FROM clickvault.request_status WHERE state = 'succeeded' AND requested_by = '"+sidecarUser+"'") >= 2 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := h.count("SELECT count() FROM clickvault.request_status WHERE state = 'succeeded' AND requested_by = '" + sidecarUser + "' AND action = 'backup'"); n < 2 {
		t.Fatalf("%d scheduled backups succeeded within a minute, want 2", n)
	}
	chains := h.list()
	if len(chains) != 1 || chains[0].Depth < 2 {
		t.Fatalf("scheduled backups did not build one chain: %+v", chains)
	}
}
