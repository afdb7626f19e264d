package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestServeCopiesEachBackup: serve copies a backup a SQL request made as
// soon as it completes, and the lag metric says 0; with the target down, a
// backup still succeeds and the lag grows; the next backup's round, with
// the target back, copies both and the lag is 0 again; clickvault.catalog
// says of each backup that both targets hold a copy.
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
	h.waitCatalogCopies("['dr','near'] ['dr','near'] ['dr','near']")
}

// waitCatalogCopies waits until the copies column of shop's backups, as
// alice reads clickvault.catalog, oldest first, is want.
func (h *harness) waitCatalogCopies(want string) {
	h.t.Helper()
	alice := h.as("alice")
	q := "SELECT arrayStringConcat(groupArray(toString(copies)), ' ') FROM (SELECT copies FROM clickvault.catalog WHERE database = 'shop' ORDER BY name)"
	deadline := time.Now().Add(time.Minute)
	for {
		got := h.textAs(alice, q)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("catalog copies %q, want %q", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
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

// TestRestoreRequestReadsACopy: alice's restore requests in SQL read a
// copy target: one naming a target that does not exist is rejected,
// naming the targets; one naming dr restores from dr and says so; and,
// with every object of the primary's database deleted, one naming no
// source falls back on dr by itself, says why, and brings back every row
// (count and sum(cityHash64(*)) equal).
func TestRestoreRequestReadsACopy(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	dr := h.bed.StartMinIO(t, "dr-copies")
	h.createShop(1000)
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, h.fillPrimary(copyTargets(dr.Endpoint, dr))), addr)
	h.backupRequest()
	h.waitCopies(dr.Keys, 1)
	count, hash := h.count("SELECT count() FROM shop.orders"), h.count("SELECT sum(cityHash64(*)) FROM shop.orders")
	restore := func(source string) status {
		id := h.request(h.as("alice"), "action, database, target, source", fmt.Sprintf("'restore', 'shop', 'shop_restored', '%s'", source))
		return h.waitState(id, 2*time.Minute, "succeeded", "failed", "rejected")
	}

	if st := restore("nowhere"); st.state != "rejected" || !strings.Contains(st.message, `source: no copy target "nowhere" in the configuration (targets: dr, near)`) {
		t.Errorf("restore from an unknown source: %s: %s", st.state, st.message)
	}
	st := restore("dr")
	if st.state != "succeeded" || !strings.HasSuffix(st.message, "; read from copy target dr") {
		t.Fatalf("restore from dr: %s: %s", st.state, st.message)
	}
	h.assertNoCopySecret(dr, st.message)
	h.exec("DROP DATABASE shop_restored SYNC")

	h.removeObjects("cv/test/shop/")
	st = restore("")
	if st.state != "succeeded" || !strings.Contains(st.message, "; read from copy target dr, because the primary bucket could not serve it: ") {
		t.Fatalf("restore with the primary's backups gone: %s: %s", st.state, st.message)
	}
	if got := h.count("SELECT count() FROM shop_restored.orders"); got != count {
		t.Errorf("restored %d rows from the copy, want %d", got, count)
	}
	if got := h.count("SELECT sum(cityHash64(*)) FROM shop_restored.orders"); got != hash {
		t.Errorf("restored rows differ: sum(cityHash64(*)) %d, want %d", got, hash)
	}
}
