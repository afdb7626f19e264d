package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// Attacks on issue 22's replace, one level deeper: tables that changed
// since the backup, views around the replaced table, odd partition keys.

// TestAttack22PartitionReplaceAfterAMigrationLeavesStaging — FAILS
// (defect): shop.events gained a column after the backup (a schema
// migration), then February was damaged. A partition replace of February
// restores the backup's February into a staging table of the old shape,
// checks it, and only then runs REPLACE PARTITION, which ClickHouse
// refuses (the tables differ). Nothing was replaced, but the staging
// table stays in shop for good: the request's work record is deleted, so no
// sweep ever finds it, the answer does not name it, every later backup of
// shop carries it, and a Merge table over shop's "events" tables, which
// production reads, now counts February twice.
func TestAttack22PartitionReplaceAfterAMigrationLeavesStaging(t *testing.T) {
	h, config, addr := newSafetyHarness(t)
	h.exec("CREATE TABLE shop.events_all AS shop.events ENGINE = Merge(shop, 'events')")
	h.startSidecar(config, addr)
	h.backupShop()
	h.exec("ALTER TABLE shop.events ADD COLUMN note String DEFAULT ''")
	h.exec("ALTER TABLE shop.events DELETE WHERE toYYYYMM(d) = 202602 AND id % 2 = 0 SETTINGS mutations_sync = 2")
	live := h.count("SELECT count() FROM shop.events")
	st := h.expectRequest(h.as("eve"), "action, database, tables, partitions, mode", "'restore', 'shop', ['events'], ['202602'], 'replace'",
		"failed", "")
	if n := h.staging(); n != 0 {
		t.Fatalf("DEFECT: a partition replace refused by ClickHouse after its restore left %d staging table(s) in shop; "+
			"production's Merge table over events now counts %d rows, events holds %d; answer: %q",
			n, h.count("SELECT count() FROM shop.events_all"), live, st.message)
	}
}

// TestAttack22ReplaceKeepsTheViewsAroundTheTable — PASSES (resists): a
// materialized view feeds shop.events from shop.src, another rolls
// shop.events up into shop.agg. A whole-table replace swaps a restored
// events in with EXCHANGE TABLES and drops the old one; both views follow
// the name, not the old table: an insert into src after the replace reaches
// the new events and agg.
func TestAttack22ReplaceKeepsTheViewsAroundTheTable(t *testing.T) {
	h, config, addr := newSafetyHarness(t)
	h.exec("CREATE TABLE shop.src (id UInt64, d Date, v String) ENGINE = MergeTree ORDER BY id")
	h.exec("CREATE TABLE shop.agg (n UInt64) ENGINE = SummingMergeTree ORDER BY tuple()")
	h.exec("CREATE MATERIALIZED VIEW shop.feed TO shop.events AS SELECT id, d, v FROM shop.src")
	h.exec("CREATE MATERIALIZED VIEW shop.roll TO shop.agg AS SELECT count() AS n FROM shop.events")
	h.startSidecar(config, addr)
	backup := h.backupShop()
	h.expectRequest(h.as("alice"), "action, database, backup, tables, mode", "'restore', 'shop', '"+backup+"', ['events'], 'replace'",
		"succeeded", "")
	events, agg := h.count("SELECT count() FROM shop.events"), h.count("SELECT sum(n) FROM shop.agg")
	h.exec("INSERT INTO shop.src VALUES (999999, '2026-02-02', 'after the replace')")
	if got := h.count("SELECT count() FROM shop.events WHERE id = 999999"); got != 1 {
		t.Fatalf("after the replace, the view feeding events wrote %d rows into it", got)
	}
	if got := h.count("SELECT sum(n) FROM shop.agg"); got != agg+1 {
		t.Fatalf("after the replace, the view reading events added %d to agg (events had %d)", got-agg, events)
	}
}

// TestAttack22PartitionReplaceOfAQuotedStringKey — PASSES (resists): a
// partition of a String key holding a quote (O'Brien), named as
// system.parts shows it, is replaced in place; the others are untouched.
func TestAttack22PartitionReplaceOfAQuotedStringKey(t *testing.T) {
	h, config, addr := newSafetyHarness(t)
	h.exec("CREATE TABLE shop.people (id UInt64, k String) ENGINE = MergeTree PARTITION BY k ORDER BY id")
	h.exec("INSERT INTO shop.people SELECT number, ['O''Brien', 'a,b', '(x)'][number % 3 + 1] FROM numbers(3000)")
	h.startSidecar(config, addr)
	h.backupShop()
	h.replaceOnePartition("people", "O''Brien")
}

// TestAttack22PartitionReplaceOfATupleKey — FAILS (defect, functional):
// docs/restore-recipes.md says partitions are replaced "by partition_id,
// which is the same whatever the key's type", named as system.parts shows
// them. For PARTITION BY (m, k) system.parts shows (202601,'eu'); the
// sidecar sends it to RESTORE … PARTITIONS as one string literal, which
// ClickHouse refuses for a two-field key (INVALID_PARTITION_VALUE): no
// partition of a table with a tuple key can be replaced in place. (Safe:
// the live table is unchanged and the staging table is dropped.)
func TestAttack22PartitionReplaceOfATupleKey(t *testing.T) {
	h, config, addr := newSafetyHarness(t)
	h.exec("CREATE TABLE shop.regions (id UInt64, k String, m UInt32) ENGINE = MergeTree PARTITION BY (m, k) ORDER BY id")
	h.exec("INSERT INTO shop.regions SELECT number, ['eu', 'us'][number % 2 + 1], 202601 + number % 2 FROM numbers(3000)")
	h.startSidecar(config, addr)
	h.backupShop()
	h.replaceOnePartition("regions", "(202601,''eu'')")
}

// replaceOnePartition damages shop.table, replaces the partition system.parts
// shows as value (the body of an SQL string literal) in place as the
// administrator, and checks it equals the backup's and that every other
// partition is as it was.
func (h *harness) replaceOnePartition(table, value string) {
	h.t.Helper()
	atBackup := h.partitions("shop." + table)
	h.exec("ALTER TABLE shop." + table + " DELETE WHERE id % 2 = 0 SETTINGS mutations_sync = 2")
	damaged := h.partitions("shop." + table)
	id := partitionID(h, table, value)
	req := h.request(h.as("admin"), "action, database, tables, partitions, mode", "'restore', 'shop', ['"+table+"'], ['"+value+"'], 'replace'")
	st := h.waitState(req, time.Minute, "succeeded", "failed", "rejected")
	if st.state != "succeeded" {
		h.t.Fatalf("DEFECT: replacing partition %s of %s in place: %s %q", value, table, st.state, st.message)
	}
	for p, fp := range h.partitions("shop." + table) {
		want := damaged[p]
		if p == id {
			want = atBackup[p]
		}
		if fp != want {
			h.t.Fatalf("partition %s of %s after replacing %s: %+v, want %+v", p, table, value, fp, want)
		}
	}
}

// partitionID is the id of the partition that system.parts shows as
// value (given as the body of an SQL string literal).
func partitionID(h *harness, table, value string) string {
	h.t.Helper()
	var id proto.ColStr
	q := "SELECT any(partition_id) FROM system.parts WHERE database = 'shop' AND table = '" + table +
		"' AND active AND partition = '" + value + "'"
	if err := h.ch.Do(h.ctx, ch.Query{Body: q, Result: proto.ResultColumn{Data: &id}}); err != nil || id.Rows() == 0 || id.Row(0) == "" {
		h.t.Fatalf("%s: no partition (%v)", q, err)
	}
	return id.Row(0)
}

// TestAttack22ReplaceOfARefreshedTableIsRefused — PASSES (resists):
// shop.daily is the TO table of a refreshable view that rebuilds it every
// hour, and ClickHouse's backup holds none of its rows. Could a replace swap
// an empty copy over production's daily? No: the staging check compares it
// with the rows daily had at backup time, refuses, and daily is untouched.
// (The reason given, "the restored tables differ from the backup", blames
// the backup rather than saying the view rebuilds daily.)
func TestAttack22ReplaceOfARefreshedTableIsRefused(t *testing.T) {
	h, config, addr := newSafetyHarness(t)
	h.exec("CREATE TABLE shop.daily (day Date, n UInt64) ENGINE = MergeTree ORDER BY day")
	h.exec("CREATE MATERIALIZED VIEW shop.rmv REFRESH EVERY 1 HOUR TO shop.daily " +
		"AS SELECT d AS day, count() AS n FROM shop.events GROUP BY day")
	for deadline := time.Now().Add(30 * time.Second); h.count("SELECT count() FROM shop.daily") == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the refreshable view never filled daily")
		}
	}
	h.startSidecar(config, addr)
	h.backupShop()
	live := h.count("SELECT count() FROM shop.daily")
	id := h.request(h.as("admin"), "action, database, tables, mode", "'restore', 'shop', ['daily'], 'replace'")
	st := h.waitState(id, time.Minute, "succeeded", "failed", "rejected")
	if got := h.count("SELECT count() FROM shop.daily"); got == 0 {
		t.Fatalf("a replace of daily (%d rows live) swapped in an empty table: the request %s %q", live, st.state, st.message)
	}
	t.Logf("replace of daily (%d rows live): %s %q", live, st.state, st.message)
}

// TestAttack22ReplaceOfAFeedingViewDoublesRows — failed before replace
// refused materialized views: the view shop.feed writes every insert into
// shop.src on to shop.events. Someone replaces orders and feed from the
// backup (feed's query was broken by an ALTER, say). The replace restored
// feed beside the live one as a staging view, which ClickHouse attaches to
// shop.src at once and which still writes TO shop.events (production):
// from the RESTORE until the old view was dropped after the swap, every
// production insert into src landed in events twice. Now the plan refuses
// a replace of a materialized view before anything is created, naming it
// and saying what to do instead; nothing is staged, orders is untouched,
// and an insert into src lands in events once.
func TestAttack22ReplaceOfAFeedingViewDoublesRows(t *testing.T) {
	h, config, addr := newSafetyHarness(t)
	h.exec("CREATE TABLE shop.src (id UInt64, d Date, v String) ENGINE = MergeTree ORDER BY id")
	h.exec("CREATE MATERIALIZED VIEW shop.feed TO shop.events AS SELECT id, d, v FROM shop.src")
	h.startSidecar(config, addr)
	h.backupShop()
	orders := h.count("SELECT count() FROM shop.orders")
	id := h.request(h.as("admin"), "action, database, tables, mode", "'restore', 'shop', ['feed', 'orders'], 'replace'")
	st := h.waitState(id, time.Minute, "succeeded", "failed", "rejected")
	if st.state == "succeeded" || !strings.Contains(st.message, "feed") || !strings.Contains(st.message, "replace") {
		t.Fatalf("DEFECT: a replace of the materialized view feed was not refused naming it: %s %q", st.state, st.message)
	}
	staged := "SELECT count() FROM system.tables WHERE database = 'shop' AND name LIKE 'clickvault\\_staging\\_%'"
	if n := h.count(staged); n != 0 {
		t.Fatalf("DEFECT: the refused replace left %d staging table(s) in shop", n)
	}
	h.exec("INSERT INTO shop.src SELECT 7000000 + number, '2026-02-03', 'after the replace' FROM numbers(100)")
	if n := h.count("SELECT count() FROM shop.events WHERE id >= 7000000"); n != 100 {
		t.Fatalf("DEFECT: 100 rows inserted into shop.src are %d rows in shop.events (the replace %s %q)", n, st.state, st.message)
	}
	if got := h.count("SELECT count() FROM shop.orders"); got != orders {
		t.Fatalf("the refused replace changed shop.orders: %d rows, had %d", got, orders)
	}
	t.Logf("replace of feed and orders: %s %q", st.state, st.message)
}
