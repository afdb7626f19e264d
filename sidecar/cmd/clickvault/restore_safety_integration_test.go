package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// newSafetyHarness: shop.events by month (January 31,000 rows, February
// 28,000, March 31,777), shop.orders (51,000 rows) and shop.items; alice
// may replace events and orders (DROP TABLE on them) and restore into
// shop_restored. A sidecar runs unless killAt is given to the caller.
func newSafetyHarness(t *testing.T) (*harness, string, string) {
	h := newHarnessWith(t, sidecarUsersWith(map[string][]string{
		"alice": {"CREATE TABLE, INSERT, DROP TABLE, ALTER DELETE ON shop.events", "CREATE TABLE, INSERT, DROP TABLE ON shop.orders"},
		// eve may replace partitions of events in place (no DROP TABLE);
		// mallory lacks ALTER DELETE for it.
		"eve":     {"SELECT ON shop.*", "CREATE TABLE, INSERT, ALTER DELETE ON shop.events"},
		"mallory": {"SELECT ON shop.*", "CREATE TABLE, INSERT, DROP TABLE ON shop.events"},
	}))
	h.exec("CREATE DATABASE shop")
	h.exec("CREATE TABLE shop.events (id UInt64, d Date, v String) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY id")
	h.exec("INSERT INTO shop.events SELECT number, toDate('2026-01-01') + number % 31, toString(rand()) FROM numbers(31000)")
	h.exec("INSERT INTO shop.events SELECT 100000 + number, toDate('2026-02-01') + number % 28, toString(rand()) FROM numbers(28000)")
	h.exec("INSERT INTO shop.events SELECT 200000 + number, toDate('2026-03-01') + number % 31, toString(rand()) FROM numbers(31777)")
	h.exec("CREATE TABLE shop.orders (id UInt64, item String) ENGINE = MergeTree ORDER BY id")
	h.exec("INSERT INTO shop.orders SELECT number, toString(rand()) FROM numbers(51000)")
	h.exec("CREATE TABLE shop.items (id UInt64, name String) ENGINE = MergeTree ORDER BY id")
	h.exec("INSERT INTO shop.items SELECT number, concat('item', toString(number)) FROM numbers(1000)")
	addr := freeAddr(t)
	config := h.sidecarConfig(addr, "poll_interval = \"200ms\"\n")
	return h, config, addr
}

// backupShop backs shop up as alice and returns the backup's name.
func (h *harness) backupShop() string {
	h.t.Helper()
	id := h.request(h.as("alice"), "action, database", "'backup', 'shop'")
	st := h.waitState(id, 2*time.Minute, "succeeded", "failed", "rejected")
	if st.state != "succeeded" {
		h.t.Fatalf("backup: %s %q", st.state, st.message)
	}
	return st.backup
}

// deleteDataObject deletes one data file of a table from a backup in MinIO,
// as a lost object would: the RESTORE of that table fails.
func (h *harness) deleteDataObject(backup, table string) string {
	h.t.Helper()
	m := h.bed.MinIO
	keys, err := m.Keys(h.ctx, "cv/test/shop/full/"+backup+"/data/shop/"+table+"/")
	if err != nil {
		h.t.Fatal(err)
	}
	for _, key := range keys {
		if strings.HasSuffix(key, ".bin") {
			if _, err := m.Client().DeleteObject(h.ctx, &s3.DeleteObjectInput{Bucket: &m.Bucket, Key: &key}); err != nil {
				h.t.Fatal(err)
			}
			return key
		}
	}
	h.t.Fatalf("no data object of %s in backup %s: %v", table, backup, keys)
	return ""
}

// staging counts the sidecar's staging tables left anywhere.
func (h *harness) staging() uint64 {
	h.t.Helper()
	return h.count("SELECT count() FROM system.tables WHERE startsWith(name, 'clickvault_staging_')")
}

// TestReplacePartitionInPlace is measurement 0: a replace of February
// restores February from the backup and leaves January and March as they
// are live (rows added after the backup stay); no part is duplicated. A
// partition the backup does not hold is refused and nothing changes.
func TestReplacePartitionInPlace(t *testing.T) {
	h, config, addr := newSafetyHarness(t)
	h.startSidecar(config, addr)
	h.backupShop()
	atBackup := h.partitions("shop.events")
	h.exec("INSERT INTO shop.events SELECT 300000 + number, toDate('2026-01-15'), 'after the backup' FROM numbers(10)")
	h.exec("ALTER TABLE shop.events DELETE WHERE toYYYYMM(d) = 202602 AND id % 3 = 0 SETTINGS mutations_sync = 2")
	h.exec("INSERT INTO shop.events SELECT 400000 + number, toDate('2026-02-10'), 'a wrong import' FROM numbers(500)")
	before := h.partitions("shop.events")
	if before["202602"] == atBackup["202602"] {
		t.Fatal("February was not damaged")
	}
	alice := h.as("alice")
	h.expectRequest(alice, "action, database, tables, partitions, mode", "'restore', 'shop', ['events'], ['202602'], 'replace'",
		"succeeded", "partitions 202602")
	after := h.partitions("shop.events")
	if len(after) != 3 || after["202601"] != before["202601"] || after["202603"] != before["202603"] {
		t.Fatalf("other partitions changed: %+v, before %+v", after, before)
	}
	if after["202602"] != atBackup["202602"] {
		t.Fatalf("February after the replace %+v, the backup's %+v", after["202602"], atBackup["202602"])
	}
	if dup := h.count("SELECT count() FROM (SELECT id FROM shop.events GROUP BY id HAVING count() > 1)"); dup != 0 {
		t.Fatalf("%d rows duplicated after the partition replace", dup)
	}
	if n := h.staging(); n != 0 {
		t.Fatalf("%d staging tables left", n)
	}
	h.expectRequest(alice, "action, database, tables, partitions, mode", "'restore', 'shop', ['events'], ['202602', '209901'], 'replace'",
		"failed", "holds 1 of the 2 partitions")
	if got := h.partitions("shop.events"); len(got) != 3 || got["202601"] != after["202601"] || got["202602"] != after["202602"] {
		t.Fatalf("a refused partition replace changed events: %+v", got)
	}
	if n := h.staging(); n != 0 {
		t.Fatalf("%d staging tables left after a refused replace", n)
	}
}

// TestReplaceKeepsTableWhenRestoreFails is measurement 1: with one data
// object of the backup deleted, a replace of orders fails and orders keeps
// every row it had (rows added since the backup included).
func TestReplaceKeepsTableWhenRestoreFails(t *testing.T) {
	h, config, addr := newSafetyHarness(t)
	h.startSidecar(config, addr)
	backup := h.backupShop()
	h.exec("INSERT INTO shop.orders SELECT 900000 + number, 'after the backup' FROM numbers(100)")
	before := h.fingerprint("shop.orders")
	h.deleteDataObject(backup, "orders")
	id := h.request(h.as("alice"), "action, database, tables, mode", "'restore', 'shop', ['orders'], 'replace'")
	st := h.waitState(id, time.Minute, "succeeded", "failed", "rejected")
	if got := h.fingerprint("shop.orders"); got != before {
		t.Fatalf("orders after a failed replace: %+v, before %+v", got, before)
	}
	if st.state != "failed" || !strings.Contains(st.message, "the live tables were not changed") {
		t.Fatalf("a replace from a backup missing an object: %s %q", st.state, st.message)
	}
	if n := h.staging(); n != 0 {
		t.Fatalf("%d staging tables left", n)
	}
}

// TestFailedRestoreLeavesNoHalfDatabase is measurement 3: a whole-database
// restore into a new database, where one table's data object is lost,
// fails and leaves no database behind (the other tables restored fine).
func TestFailedRestoreLeavesNoHalfDatabase(t *testing.T) {
	h, config, addr := newSafetyHarness(t)
	h.startSidecar(config, addr)
	backup := h.backupShop()
	h.deleteDataObject(backup, "orders")
	id := h.request(h.as("alice"), "action, database, target", "'restore', 'shop', 'shop_restored'")
	st := h.waitState(id, time.Minute, "succeeded", "failed", "rejected")
	if n := h.count("SELECT count() FROM system.databases WHERE name = 'shop_restored'"); n != 0 {
		t.Fatalf("a failed restore left database shop_restored with %d tables",
			h.count("SELECT count() FROM system.tables WHERE database = 'shop_restored'"))
	}
	if st.state != "failed" || !strings.Contains(st.message, "database shop_restored, which this restore created, is dropped") {
		t.Fatalf("a restore from a backup missing an object: %s %q", st.state, st.message)
	}
}

// replaceKillPoints are the moments of a replace at which the sidecar is
// killed: before the RESTORE is sent, while it runs, after the staging copy
// is checked and before the swap, after the swap before the old table is
// dropped.
var replaceKillPoints = []string{"restore-before", "restore-sent", "replace-checked", "replace-swapped"}

// TestReplaceKillPoints: killed at each point of a replace and restarted,
// the sidecar answers the request once and orders holds exactly the
// backup's rows (the restarted sidecar finishes the swap), never a mix;
// no staging table is left.
func TestReplaceKillPoints(t *testing.T) {
	h, config, addr := newSafetyHarness(t)
	h.startSidecar(config, addr).kill()
	sc := h.startSidecar(config, addr)
	h.backupShop()
	backupRows := h.fingerprint("shop.orders")
	sc.kill()
	for i, point := range replaceKillPoints {
		h.exec(fmt.Sprintf("INSERT INTO shop.orders SELECT %d + number, 'live' FROM numbers(100)", 1000000*(i+1)))
		live := h.fingerprint("shop.orders")
		killed := h.startSidecarWith(config, addr, envFaultPoint+"="+point)
		id := h.request(h.as("alice"), "action, database, tables, mode", "'restore', 'shop', ['orders'], 'replace'")
		select {
		case <-killed.exited:
		case <-time.After(time.Minute):
			t.Fatalf("the sidecar did not kill itself at %s", point)
		}
		if got := h.fingerprint("shop.orders"); got != live && got != backupRows {
			t.Fatalf("killed at %s: orders holds %+v, neither the live %+v nor the backup's %+v", point, got, live, backupRows)
		}
		restarted := h.startSidecar(config, addr)
		st := h.waitState(id, 2*time.Minute, "succeeded", "failed", "rejected")
		if st.state != "succeeded" {
			t.Fatalf("killed at %s: the request ended %s %q", point, st.state, st.message)
		}
		if got := h.fingerprint("shop.orders"); got != backupRows {
			t.Fatalf("killed at %s and restarted: orders %+v, want the backup's %+v", point, got, backupRows)
		}
		if n := h.staging(); n != 0 {
			t.Fatalf("killed at %s: %d staging tables left", point, n)
		}
		restarted.kill()
	}
}

// TestServeSweepsVerifyScratch: a verify killed while its RESTORE runs
// leaves its scratch database; the restarted sidecar removes it at start
// (its work record names this sidecar, from before the restart).
func TestServeSweepsVerifyScratch(t *testing.T) {
	h, config, addr := newSafetyHarness(t)
	sc := h.startSidecar(config, addr)
	h.backupShop()
	sc.kill()
	killed := h.startSidecarWith(config, addr, envFaultPoint+"=restore-sent")
	id := h.request(h.as("alice"), "action, database", "'verify', 'shop'")
	select {
	case <-killed.exited:
	case <-time.After(time.Minute):
		t.Fatal("the sidecar did not kill itself while the verify restored")
	}
	// ClickHouse goes on with the RESTORE the dead sidecar sent: the scratch
	// database appears.
	scratch := "SELECT count() FROM system.databases WHERE startsWith(name, 'clickvault_verify_')"
	for deadline := time.Now().Add(20 * time.Second); h.count(scratch) == 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	if h.count(scratch) == 0 {
		t.Fatal("no scratch database left by the killed verify")
	}
	h.startSidecar(config, addr)
	h.waitState(id, 2*time.Minute, "succeeded", "failed", "rejected")
	deadline := time.Now().Add(30 * time.Second)
	for h.count(scratch) != 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if n := h.count(scratch); n != 0 {
		t.Fatalf("%d verify scratch databases left after the restart", n)
	}
}

// TestPartitionReplaceRights: replacing partitions in place takes the
// rights of what it runs (REPLACE PARTITION: ALTER DELETE and INSERT on
// the live table), not DROP TABLE: eve, without DROP TABLE, may; mallory,
// without ALTER DELETE, is refused naming it, and nothing changes.
func TestPartitionReplaceRights(t *testing.T) {
	h, config, addr := newSafetyHarness(t)
	h.startSidecar(config, addr)
	h.backupShop()
	h.exec("ALTER TABLE shop.events DELETE WHERE toYYYYMM(d) = 202602 AND id % 2 = 0 SETTINGS mutations_sync = 2")
	damaged := h.partitions("shop.events")
	h.expectRequest(h.as("mallory"), "action, database, tables, partitions, mode", "'restore', 'shop', ['events'], ['202602'], 'replace'",
		"rejected", "ALTER DELETE")
	if got := h.partitions("shop.events"); got["202602"] != damaged["202602"] {
		t.Fatalf("a refused partition replace changed February: %+v", got)
	}
	h.expectRequest(h.as("eve"), "action, database, tables, partitions, mode", "'restore', 'shop', ['events'], ['202602'], 'replace'",
		"succeeded", "partitions 202602")
	if got := h.partitions("shop.events"); got["202602"] == damaged["202602"] {
		t.Fatal("eve's partition replace left February damaged")
	}
}
