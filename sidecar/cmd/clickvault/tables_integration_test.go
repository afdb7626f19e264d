package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// fingerprint is a table's rows and content hash, as a check compares them.
type fingerprint struct{ rows, hash uint64 }

func (h *harness) fingerprint(table string) fingerprint {
	h.t.Helper()
	return fingerprint{h.count("SELECT count() FROM " + table),
		h.count("SELECT sum(cityHash64(*)) FROM " + table)}
}

// partitions fingerprints each partition of a table.
func (h *harness) partitions(table string) map[string]fingerprint {
	h.t.Helper()
	var ids proto.ColStr
	var rows, hash proto.ColUInt64
	out := map[string]fingerprint{}
	err := h.ch.Do(h.ctx, ch.Query{Body: "SELECT CAST(_partition_id AS String) AS p, count() AS n, sum(cityHash64(*)) AS h FROM " + table + " GROUP BY p",
		Result: proto.Results{{Name: "p", Data: &ids}, {Name: "n", Data: &rows}, {Name: "h", Data: &hash}},
		OnResult: func(_ context.Context, _ proto.Block) error {
			for i := 0; i < ids.Rows(); i++ {
				out[ids.Row(i)] = fingerprint{rows.Row(i), hash.Row(i)}
			}
			return nil
		}})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// newTablesHarness: a sidecar and shop with orders (by month), items and
// logs; alice may restore orders in place and replace items.
func newTablesHarness(t *testing.T) *harness {
	h := newHarnessWith(t, sidecarUsersWith(map[string][]string{
		"alice": {"CREATE TABLE, INSERT ON shop.orders", "CREATE TABLE, INSERT, DROP TABLE ON shop.items"},
	}))
	h.exec("CREATE DATABASE shop")
	h.exec("CREATE TABLE shop.orders (id UInt64, d Date, v String) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY id")
	h.exec("CREATE TABLE shop.items (id UInt64, name String) ENGINE = MergeTree ORDER BY id")
	h.exec("CREATE TABLE shop.logs (at DateTime, line String) ENGINE = MergeTree ORDER BY at")
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, ""), addr)
	return h
}

// link inserts a round of rows and backs up as alice; it returns the
// backup's name.
func (h *harness) link(alice *ch.Client, round int) string {
	h.t.Helper()
	h.exec(fmt.Sprintf("INSERT INTO shop.orders SELECT number, toDate('2024-01-01') + number %% 120, toString(rand()) FROM numbers(%d, 3000)", round*3000))
	h.exec(fmt.Sprintf("INSERT INTO shop.items SELECT number, concat('item', toString(number)) FROM numbers(%d, 100)", round*100))
	h.exec(fmt.Sprintf("INSERT INTO shop.logs SELECT now(), 'round %d' FROM numbers(50)", round))
	id := h.request(alice, "action, database", "'backup', 'shop'")
	st := h.waitState(id, 60*time.Second, "succeeded", "failed", "rejected")
	if st.state != "succeeded" {
		h.t.Fatalf("backup %d: %s %q", round, st.state, st.message)
	}
	return st.backup
}

func (h *harness) expectRequest(c *ch.Client, columns, values, state, says string) status {
	h.t.Helper()
	id := h.request(c, columns, values)
	st := h.waitState(id, 60*time.Second, "succeeded", "failed", "rejected", "cancelled")
	if st.state != state || !strings.Contains(st.message, says) {
		h.t.Fatalf("(%s) = (%s): %s %q; want %s saying %q", columns, values, st.state, st.message, state, says)
	}
	return st
}

// TestRestoreTablesThroughRequests is issue 17's acceptance on the real
// server, through SQL requests as a real requester: a dropped table comes
// back from the third link of a chain; two partitions go into an empty
// copy; a schema restore recreates a table empty; replace needs DROP
// TABLE and then replaces.
func TestRestoreTablesThroughRequests(t *testing.T) {
	h := newTablesHarness(t)
	alice := h.as("alice")
	var links []string
	var ordersAt, itemsAt []fingerprint
	var monthsAt []map[string]fingerprint
	for round := 0; round < 4; round++ {
		ordersAt = append(ordersAt, h.fingerprint("shop.orders"))
		itemsAt = append(itemsAt, h.fingerprint("shop.items"))
		links = append(links, h.link(alice, round))
		ordersAt[round], itemsAt[round] = h.fingerprint("shop.orders"), h.fingerprint("shop.items")
		monthsAt = append(monthsAt, h.partitions("shop.orders"))
	}

	h.exec("DROP TABLE shop.orders SYNC")
	h.expectRequest(alice, "action, database, backup, tables", fmt.Sprintf("'restore', 'shop', '%s', ['orders']", links[2]),
		"succeeded", "restored orders from "+links[2])
	if got := h.fingerprint("shop.orders"); got != ordersAt[2] {
		t.Fatalf("shop.orders restored from the third link: %+v, recorded at its backup %+v", got, ordersAt[2])
	}
	if got := h.fingerprint("shop.items"); got != itemsAt[3] {
		t.Fatalf("shop.items changed by a restore of orders: %+v", got)
	}

	h.expectRequest(alice, "action, database, target, tables, partitions",
		"'restore', 'shop', 'shop_restored', ['orders AS orders_q1'], ['202401', '202402']", "succeeded", "partitions 202401, 202402")
	got := h.partitions("shop_restored.orders_q1")
	if len(got) != 2 || got["202401"] != monthsAt[3]["202401"] || got["202402"] != monthsAt[3]["202402"] {
		t.Fatalf("partitions restored: %+v; recorded %+v", got, monthsAt[3])
	}

	h.expectRequest(alice, "action, database, target, tables, mode",
		"'restore', 'shop', 'shop_restored', ['items AS items_def'], 'schema'", "succeeded", "definitions")
	if n := h.count("SELECT count() FROM shop_restored.items_def"); n != 0 {
		t.Fatalf("a schema restore wrote %d rows", n)
	}
	if a, b := h.columns("shop.items"), h.columns("shop_restored.items_def"); a != b {
		t.Fatalf("schema restore: columns %s, want %s", b, a)
	}

	h.expectRequest(alice, "action, database, tables, mode", "'restore', 'shop', ['orders'], 'replace'",
		"rejected", "lacks DROP TABLE on table shop.orders")
	h.expectRequest(alice, "action, database, tables", "'restore', 'shop', ['items']", "rejected", "mode replace")
	h.exec("INSERT INTO shop.items VALUES (999999, 'wrong')")
	h.expectRequest(alice, "action, database, tables, mode", "'restore', 'shop', ['items'], 'replace'",
		"succeeded", "replaced atomically: restored beside it into a staging table, checked against the backup, swapped in (EXCHANGE TABLES)")
	if got := h.fingerprint("shop.items"); got != itemsAt[3] {
		t.Fatalf("shop.items after replace: %+v, want %+v", got, itemsAt[3])
	}
	h.expectRequest(h.as("mallory"), "action, database, target, tables", "'restore', 'shop', 'shop_restored', ['orders AS m']",
		"rejected", "lacks SELECT on table shop.orders")
	// A list of 50,000 names (or of a few huge ones) is read as "too long",
	// never into the sidecar's memory, and rejected.
	h.expectRequest(alice, "action, database, tables", "'restore', 'shop', arrayMap(x -> concat('t', toString(x)), range(50000))",
		"rejected", "more than 100 entries")
	h.expectRequest(alice, "action, database, partitions, tables", "'restore', 'shop', [repeat('p', 100000)], ['orders']",
		"rejected", "more than 100 entries or 8192 bytes")
}

func (h *harness) columns(table string) string {
	h.t.Helper()
	db, name, _ := strings.Cut(table, ".")
	var cols proto.ColStr
	err := h.ch.Do(h.ctx, ch.Query{Body: fmt.Sprintf("SELECT concat(name, ' ', type) AS c FROM system.columns WHERE database = '%s' AND table = '%s' ORDER BY position", db, name),
		Result: proto.ResultColumn{Name: "c", Data: &cols}})
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for i := 0; i < cols.Rows(); i++ {
		out = append(out, cols.Row(i))
	}
	return strings.Join(out, ", ")
}

// TestTableSetsCLIAndHTTP: with exclude_tables in the config a chain never
// holds the excluded table (not in its metadata, not one object of it in
// S3); a change of the set starts a new chain; the CLI restores one table
// and refuses a backup that does not hold it; HTTP queues a table restore.
func TestTableSetsCLIAndHTTP(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.exec("CREATE DATABASE shop")
	h.exec("CREATE TABLE shop.orders (id UInt64) ENGINE = MergeTree ORDER BY id")
	h.exec("CREATE TABLE shop.logs (line String) ENGINE = MergeTree ORDER BY line")
	h.exec("INSERT INTO shop.orders SELECT number FROM numbers(1000)")
	h.exec("INSERT INTO shop.logs SELECT toString(number) FROM numbers(500)")
	noLogs := h.writeConfig("[tables.shop]\nexclude_tables = [\"logs\"]\n")
	for i := 0; i < 2; i++ {
		if r := h.run(noLogs, "backup"); r.code != 0 {
			t.Fatalf("backup without logs: %d %s", r.code, r.stderr)
		}
	}
	chains := h.list()
	if len(chains) != 1 || chains[0].TableSet != "all but logs" || chains[0].Depth != 2 {
		t.Fatalf("chains: %+v", chains)
	}
	for _, b := range chains[0].Backups {
		if _, ok := b.Tables["logs"]; ok || b.Tables["orders"] != 1000 {
			t.Fatalf("backup %s holds tables %v", b.Name, b.Tables)
		}
		if _, ok := b.TableBytes["logs"]; ok || b.TableBytes["orders"] < 1000 {
			t.Fatalf("backup %s: sizes of its tables %v", b.Name, b.TableBytes)
		}
	}
	for _, key := range h.keys("cv/test/shop/") {
		if strings.Contains(key, "/logs/") || strings.Contains(key, "/logs.sql") {
			t.Fatalf("an object of the excluded table: %s", key)
		}
	}
	first := chains[0].Name

	h.mustRun("backup") // every table: a new chain
	chains = h.list()
	if len(chains) != 2 || chains[0].TableSet != "all tables" || chains[0].Backups[0].Kind != "full" {
		t.Fatalf("after the set changed: %+v", chains)
	}
	if r := h.run("", "restore", "--table", "logs", "--backup", first, "--target", "shop_copy"); r.code == 0 ||
		!strings.Contains(r.stderr, "does not hold table logs") {
		t.Fatalf("restore logs from a backup without it: %d %s", r.code, r.stderr)
	}
	if r := h.mustRun("restore", "--table", "logs AS logs_copy", "--target", "shop_copy"); !strings.Contains(r.stdout, "shop_copy") {
		t.Fatalf("restore logs: %s", r.stdout)
	}
	if n := h.count("SELECT count() FROM shop_copy.logs_copy"); n != 500 {
		t.Fatalf("shop_copy.logs_copy has %d rows", n)
	}

	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, ""), addr)
	code, out := post(t, "http://"+addr+"/v1/restores", httpToken,
		`{"database":"shop","target":"shop_copy","tables":["orders AS orders_copy"],"mode":"data"}`)
	if code != 202 {
		t.Fatalf("POST /v1/restores of a table: %d %s", code, out)
	}
	id := out[strings.Index(out, `"id":"`)+6:][:36]
	if st := h.waitState(id, time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" {
		t.Fatalf("HTTP table restore: %+v", st)
	}
	if n := h.count("SELECT count() FROM shop_copy.orders_copy"); n != 1000 {
		t.Fatalf("shop_copy.orders_copy has %d rows", n)
	}
	code, out = post(t, "http://"+addr+"/v1/restores", httpToken, `{"database":"shop","tables":["orders"],"partitions":["a"],"mode":"sideways"}`)
	if code != 202 {
		t.Fatalf("POST a bad restore: %d %s", code, out)
	}
	id = out[strings.Index(out, `"id":"`)+6:][:36]
	if st := h.waitState(id, time.Minute, "succeeded", "failed", "rejected"); st.state != "rejected" || !strings.Contains(st.message, "unknown restore mode") {
		t.Fatalf("a bad mode over HTTP: %+v", st)
	}
}
