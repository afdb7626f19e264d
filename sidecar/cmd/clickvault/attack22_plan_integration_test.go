package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Attacks on issue 22's restore plan: objects it misclassifies.

// planLine is the line of a dry run's plan that names table, or "".
func planLine(plan, table string) string {
	for _, line := range strings.Split(plan, "\n") {
		for _, f := range strings.Fields(line) {
			if f == table {
				return strings.TrimSpace(line)
			}
		}
	}
	return ""
}

// TestAttack22AliasAndBufferInACopyActOnProduction — failed before the
// plan judged references by what they point at once restored: shop holds
// src and two tables that name it by its database, an Alias('shop', 'src')
// and a Buffer('shop', 'src', …). ClickHouse's RESTORE … AS shop_copy
// renames table names in queries and a Merge's database, but not the
// arguments of Alias, Buffer or Distributed (TestClusterRestoreSet shows
// a Distributed's): in the copy both still point at
// production's shop.src (a TRUNCATE of the copy's alias, the natural
// clean-up of a copy, emptied production's shop.src; an INSERT into the
// copy's buffer landed there). The plan called them inside the database
// and restored them under the default consumers = refuse. Now both are
// outside writers of the copy: the default restore is refused naming
// them, consumers = 'skip' restores the copy without them, and
// production is untouched.
func TestAttack22AliasAndBufferInACopyActOnProduction(t *testing.T) {
	h := newHarness(t)
	h.exec("CREATE DATABASE shop")
	h.exec("CREATE TABLE shop.src (id UInt64) ENGINE = MergeTree ORDER BY id")
	h.exec("INSERT INTO shop.src SELECT number FROM numbers(1000)")
	h.exec("CREATE TABLE shop.al ENGINE = Alias(shop, src)")
	h.exec("CREATE TABLE shop.buf (id UInt64) ENGINE = Buffer(shop, src, 1, 1, 2, 1, 1000, 1, 1000000)")
	h.mustRun("backup")
	plan := h.mustRun("restore", "--target", "shop_copy", "--dry-run").stdout
	for _, table := range []string{"al", "buf"} {
		if line := planLine(plan, table); !strings.HasPrefix(line, "refuse") || !strings.Contains(line, "shop.src") {
			t.Errorf("DEFECT: the plan of a copy does not refuse %s, which acts on production's shop.src: %q", table, line)
		}
	}
	if r := h.run("", "restore", "--target", "shop_copy"); r.code == 0 {
		t.Fatalf("DEFECT: a copy holding an Alias and a Buffer of production's shop.src was restored by default (plan: %q, %q)",
			planLine(plan, "al"), planLine(plan, "buf"))
	}
	h.mustRun("restore", "--target", "shop_copy", "--consumers", "skip")
	if n := h.count("SELECT count() FROM system.tables WHERE database = 'shop_copy' AND name IN ('al', 'buf')"); n != 0 {
		t.Fatalf("DEFECT: consumers = 'skip' still created %d of al and buf in shop_copy", n)
	}
	if copied, live := h.count("SELECT count() FROM shop_copy.src"), h.count("SELECT count() FROM shop.src"); copied != 1000 || live != 1000 {
		t.Fatalf("shop_copy.src holds %d rows, shop.src %d; want 1000 each", copied, live)
	}
}

// TestAttack22VerifyChecksProductionThroughAnAlias — FAILS (defect): verify
// recreates shop.al in its scratch database still pointing at production's
// shop.src, and runs CHECK TABLE on it, which ClickHouse forwards to
// shop.src: on the test bed (no CHECK on shop) verify of a sound backup
// fails with ACCESS_DENIED on production's table; with CHECK granted it
// would read all of production's table.
func TestAttack22VerifyChecksProductionThroughAnAlias(t *testing.T) {
	h := newHarness(t)
	h.exec("CREATE DATABASE shop")
	h.exec("CREATE TABLE shop.src (id UInt64) ENGINE = MergeTree ORDER BY id")
	h.exec("INSERT INTO shop.src SELECT number FROM numbers(1000)")
	h.exec("CREATE TABLE shop.al ENGINE = Alias(shop, src)")
	h.mustRun("backup")
	r := h.run("", "verify")
	if r.code != 0 {
		t.Fatalf("DEFECT: verify of a sound backup holding an Alias failed (exit %d): %s", r.code,
			tailString(strings.TrimSpace(r.stdout+r.stderr), 500))
	}
}

// TestAttack22ViewIntoURLIsNotAnExternalWriter — FAILS (defect): a
// materialized view whose own (inner) engine is URL writes every row it
// gets to that address: it is "a URL table a view writes into", which the
// issue says is never recreated live unless asked. The plan only looks for
// a URL table named in some view's TO clause, so this one is restored
// live with no reason; in the copy an insert into shop_copy.src is POSTed
// to production's endpoint.
func TestAttack22ViewIntoURLIsNotAnExternalWriter(t *testing.T) {
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
	}))
	t.Cleanup(srv.Close)
	h := newHarness(t)
	h.exec("CREATE DATABASE shop")
	h.exec("CREATE TABLE shop.src (id UInt64) ENGINE = MergeTree ORDER BY id")
	h.exec("CREATE MATERIALIZED VIEW shop.export ENGINE = URL('" + srv.URL + "/ingest', JSONEachRow) AS SELECT id FROM shop.src")
	h.exec("INSERT INTO shop.src SELECT number FROM numbers(100)")
	h.mustRun("backup")
	plan := h.mustRun("restore", "--target", "shop_copy", "--dry-run").stdout
	r := h.run("", "restore", "--target", "shop_copy")
	before := posts.Load()
	if r.code == 0 {
		h.exec("INSERT INTO shop_copy.src VALUES (7)")
	}
	if sent := posts.Load() - before; r.code == 0 && sent > 0 {
		t.Fatalf("DEFECT: the copy's view posted %d request(s) to production's endpoint after an insert into the copy; "+
			"the plan said %q", sent, planLine(plan, "export"))
	}
	if r.code == 0 || !strings.Contains(planLine(plan, "export"), ":") {
		t.Fatalf("DEFECT: restore exit %d; the plan gave view export no reason: %q", r.code, planLine(plan, "export"))
	}
}

// TestAttack22RequesterCannotWriteProductionThroughARestoredBuffer —
// PASSES (resists): could the Buffer above be a confused deputy? alice may
// read shop and write only shop_restored, and may not create a Buffer
// herself (no TABLE ENGINE right). Before the plan judged references by
// what they point at once restored, the sidecar restored shop.buf for her
// into shop_restored, still pointing at production's shop.src, and only
// ClickHouse (INSERT checked on the Buffer's destination) stopped her
// insert. Now the sidecar restores no such Buffer for her: refused by
// default, and her consumers = 'include' is refused for the INSERT on
// shop.src she lacks.
func TestAttack22RequesterCannotWriteProductionThroughARestoredBuffer(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.exec("CREATE DATABASE shop")
	h.exec("CREATE TABLE shop.src (id UInt64) ENGINE = MergeTree ORDER BY id")
	h.exec("INSERT INTO shop.src SELECT number FROM numbers(1000)")
	h.exec("CREATE TABLE shop.buf (id UInt64) ENGINE = Buffer(shop, src, 1, 1, 2, 1, 1000, 1, 1000000)")
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, "poll_interval = \"200ms\"\n"), addr)
	alice := h.as("alice")
	h.expectRequest(alice, "action, database", "'backup', 'shop'", "succeeded", "")
	h.expectRequest(alice, "action, database, target", "'restore', 'shop', 'shop_restored'", "rejected", "buf (a Buffer table that flushes into shop.src")
	h.expectRequest(alice, "action, database, target, consumers", "'restore', 'shop', 'shop_restored', 'include'", "rejected", "lacks INSERT on table shop.src")
	if n := h.count("SELECT count() FROM system.tables WHERE database = 'shop_restored'"); n != 0 {
		t.Fatalf("DEFECT: the refused restores created %d table(s) in shop_restored", n)
	}
}

// TestAttack22ViewRestoredAloneIntoACopyFeedsProduction — FAILS (defect):
// alice may read shop and write only shop_restored. She restores just the
// materialized view shop.feed (FROM shop.src TO shop.events) into
// shop_restored, to look at last week's definition. That is RESTORE TABLE
// shop.feed AS shop_restored.feed: ClickHouse renames the view alone, so
// the copy still reads production's shop.src and writes production's
// shop.events. The plan judges feed against the backup's database, where
// both are "inside", and runs it under the default consumers = refuse,
// without asking for the rights an include of a view writing into
// shop.events would take. From then on every insert into shop.src lands in
// shop.events twice, for as long as the copy exists: a requester with only
// SELECT on shop corrupts production's table.
func TestAttack22ViewRestoredAloneIntoACopyFeedsProduction(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.exec("CREATE DATABASE shop")
	h.exec("CREATE TABLE shop.src (id UInt64) ENGINE = MergeTree ORDER BY id")
	h.exec("CREATE TABLE shop.events (id UInt64) ENGINE = MergeTree ORDER BY id")
	h.exec("CREATE MATERIALIZED VIEW shop.feed TO shop.events AS SELECT id FROM shop.src")
	h.exec("INSERT INTO shop.src SELECT number FROM numbers(100)")
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, "poll_interval = \"200ms\"\n"), addr)
	alice := h.as("alice")
	h.expectRequest(alice, "action, database", "'backup', 'shop'", "succeeded", "")
	id := h.request(alice, "action, database, tables, target", "'restore', 'shop', ['feed'], 'shop_restored'")
	st := h.waitState(id, time.Minute, "succeeded", "failed", "rejected")
	h.exec("INSERT INTO shop.src SELECT 5000 + number FROM numbers(100)")
	if n := h.count("SELECT count() FROM shop.events WHERE id >= 5000"); n != 100 {
		t.Fatalf("DEFECT: after alice restored view feed alone into shop_restored (%s %q), 100 rows inserted into "+
			"production's shop.src are %d rows in shop.events", st.state, st.message, n)
	}
}
