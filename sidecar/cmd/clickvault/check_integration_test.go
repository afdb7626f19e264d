package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCheckNamesTheMissingObject is issue 18's acceptance: one data object
// of the second backup of a five-link chain is deleted in MinIO; `check`
// exits 1 naming it, marks links 2–5 broken and link 1 good, in under 2 s,
// without a GET of any data object; a SQL check request fails with the
// object in its message and the catalog shows each backup's status; after
// a new full backup the new chain checks good.
func TestCheckNamesTheMissingObject(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(1000)
	var links []string
	for i := 0; i < 5; i++ {
		if i > 0 {
			h.addRows(1000*i+1000, 100)
		}
		h.mustRun("backup")
		chain := h.list()[0]
		links = append(links, chain.Backups[len(chain.Backups)-1].Name)
	}
	second := fmt.Sprintf("cv/test/shop/incremental/%s/", links[1])
	var victim string
	for _, k := range h.keys(second) {
		if strings.Contains(k, "/data/shop/orders/") && strings.HasSuffix(k, "/data.bin") {
			victim = k
		}
	}
	if victim == "" {
		t.Fatalf("no data object in %s: %v", second, h.keys(second))
	}
	h.removeObjects(victim)

	proxy := newS3Proxy(t, h.bed.MinIO.Endpoint)
	cfg := h.configVia(proxy, "")
	start := time.Now()
	r := h.run(cfg, "check")
	took := time.Since(start)
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, victim) {
		t.Fatalf("check: exit %d, want 1 naming %s\n%s\n%s", r.code, victim, r.stdout, r.stderr)
	}
	for i, name := range links {
		want := name + ": BROKEN"
		if i == 0 {
			want = name + ": good"
		}
		if !strings.Contains(r.stdout, want) {
			t.Errorf("check output lacks %q:\n%s", want, r.stdout)
		}
	}
	if took > 2*time.Second {
		t.Errorf("check of a five-link chain took %s, want under 2 s", took)
	}
	for _, path := range proxy.objectGets() {
		if strings.Contains(path, "/data/") {
			t.Errorf("check read a data object: GET %s", path)
		}
	}

	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, ""), addr)
	id := h.request(h.as("alice"), "action, database", "'check', 'shop'")
	if st := h.waitState(id, time.Minute, "succeeded", "failed", "rejected"); st.state != "failed" || !strings.Contains(st.message, victim) {
		t.Fatalf("SQL check: %+v", st)
	}
	if n := h.count("SELECT count() FROM clickvault.backups FINAL WHERE database = 'shop' AND check_status = 'broken'"); n != 4 {
		t.Errorf("%d backups broken in the catalog, want 4", n)
	}
	if n := h.count("SELECT count() FROM clickvault.backups FINAL WHERE name = '" + links[0] + "' AND check_status = 'good'"); n != 1 {
		t.Errorf("link 1 is not good in the catalog")
	}

	h.mustRun("backup", "--full")
	chain := h.list()[0]
	if r := h.run("", "check", "--backup", chain.Backups[0].Name); r.code != 0 || !strings.Contains(r.stdout, "0 broken") {
		t.Fatalf("the new chain: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
