package main

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestServeCopiesEachBackup: serve copies a backup a SQL request made as
// soon as it completes, and the lag metric says 0; with the target down, a
// backup still succeeds and the lag grows; the next backup's round, with
// the target back, copies both and the lag is 0 again.
func TestServeCopiesEachBackup(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	dr := h.bed.StartMinIO(t, "dr-copies")
	h.createShop(1000)
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, h.fillPrimary(copyTargets(dr.Endpoint, dr))), addr)
	lag := `clickvault_copy_lag_seconds{database="shop",target="dr"}`

	h.backupRequest()
	h.waitCopies(dr.Keys, 1)
	h.waitLag(addr, lag, func(v float64) bool { return v == 0 }, "0")

	dr.Stop()
	h.addRows(1000, 10)
	h.backupRequest()
	h.waitLag(addr, lag, func(v float64) bool { return v > 0 }, "above 0")

	if err := dr.Start(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.addRows(2000, 10)
	h.backupRequest()
	h.waitCopies(dr.Keys, 3)
	h.waitLag(addr, lag, func(v float64) bool { return v == 0 }, "0")
}

// backupRequest asks the sidecar for a backup of shop and waits for its
// success.
func (h *harness) backupRequest() {
	h.t.Helper()
	id := h.request(h.as("alice"), "action, database", "'backup', 'shop'")
	if st := h.waitState(id, 2*time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" {
		h.t.Fatalf("backup request: %+v", st)
	}
}

// waitCopies waits until the target holds n copies of shop's backups.
func (h *harness) waitCopies(keys func(ctx context.Context, prefix string) ([]string, error), n int) {
	h.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		all, err := keys(h.ctx, "cv/dr/shop/")
		if err != nil {
			h.t.Fatal(err)
		}
		got := len(slices.DeleteFunc(all, func(k string) bool { return !strings.HasSuffix(k, "/.clickvault_meta.json") }))
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the target holds %d copies, want %d", got, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitLag waits until the sample of /metrics satisfies ok.
func (h *harness) waitLag(addr, sample string, ok func(float64) bool, want string) {
	h.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	last := "absent"
	for time.Now().Before(deadline) {
		for _, line := range scrapeClickVault(h.t, "http://"+addr) {
			if v, found := strings.CutPrefix(line, sample+" "); found {
				last = v
				if f, err := strconv.ParseFloat(v, 64); err == nil && ok(f) {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.t.Fatalf("%s is %s, want %s", sample, last, want)
}
