package main

import (
	"testing"
	"time"
)

// Attacks on issue 22's restores, one level deeper: two restores of one
// table at once. Each test says whether it FAILS (a real defect) or PASSES
// (the product resists).

// newAttack22ConcurrentHarness: shop.orders with 120,000 rows in four parts,
// backed up; a sidecar and the CLI reach S3 through a proxy that slows every
// GET of a data object, so that a restore's data phase takes seconds.
func newAttack22ConcurrentHarness(t *testing.T) (*harness, *s3Proxy, string) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(0)
	for i := 0; i < 4; i++ {
		h.addRows(i*30000, 30000)
	}
	h.mustRun("backup")
	proxy := newS3Proxy(t, h.bed.MinIO.Endpoint)
	addr := freeAddr(t)
	h.startSidecar(h.viaProxy(h.sidecarConfig(addr, "poll_interval = \"200ms\"\n"), proxy), addr)
	return h, proxy, h.viaProxy(h.config, proxy)
}

// waitTable waits until db.table exists.
func (h *harness) waitTable(db, table string, within time.Duration) {
	h.t.Helper()
	q := "SELECT count() FROM system.tables WHERE database = '" + db + "' AND name = '" + table + "'"
	for deadline := time.Now().Add(within); h.count(q) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			h.t.Fatalf("%s.%s did not appear within %s", db, table, within)
		}
	}
}

// TestAttack22TwoRestoresOfOneTableDoubleTheRows — FAILS (defect): a data
// restore promises rows "never mixed with rows already there", yet two
// restores of shop.orders into shop_restored at once (alice's request to
// the sidecar, an operator's CLI run a moment later: a retry of a restore
// that seems stuck) both pass the emptiness checks — the sidecar's (the
// table exists, with 0 rows) and ClickHouse's (checked before any part is
// attached) — and both attach the backup's parts: orders ends with every
// row twice, and both report success. Nothing serialises restores of one
// target across processes (a database's turn in the runner is per
// sidecar).
func TestAttack22TwoRestoresOfOneTableDoubleTheRows(t *testing.T) {
	h, proxy, cliConfig := newAttack22ConcurrentHarness(t)
	want := h.count("SELECT count() FROM shop.orders")
	proxy.slowDown("/data/", 1500*time.Millisecond)
	id := h.request(h.as("alice"), "action, database, tables, target", "'restore', 'shop', ['orders'], 'shop_restored'")
	h.waitTable("shop_restored", "orders", time.Minute)
	cli := h.run(cliConfig, "restore", "--table", "orders", "--target", "shop_restored")
	st := h.waitState(id, 3*time.Minute, "succeeded", "failed", "rejected")
	proxy.slowDown("", 0)
	got := h.count("SELECT count() FROM shop_restored.orders")
	dups := h.count("SELECT count() FROM (SELECT id FROM shop_restored.orders GROUP BY id HAVING count() > 1)")
	t.Logf("request: %s %q\nCLI: exit %d\n%s%s", st.state, st.message, cli.code, cli.stdout, tailString(cli.stderr, 600))
	if got != want || dups != 0 {
		t.Fatalf("DEFECT: two restores of orders into shop_restored at once: it holds %d rows (%d ids twice), the backup %d; "+
			"request %s, CLI exit %d", got, dups, want, st.state, cli.code)
	}
}
