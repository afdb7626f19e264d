package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
)

// Attacks on issue 22's partition replace under faults and load, and on
// the refusal of replace where tables cannot be swapped.

// TestAttack22PartitionReplaceKillPoints — PASSES (resists): the existing
// kill-point test covers whole-table replace; here the sidecar is killed at
// each point of a *partition* replace of February (before the RESTORE,
// while it runs, after the staging copy is checked, after the REPLACE
// PARTITION) and restarted. January and March keep their live rows (rows
// added since the backup included) at every moment, February is the live
// one or the backup's, never a mix; after the restart February is the
// backup's and no staging table is left.
func TestAttack22PartitionReplaceKillPoints(t *testing.T) {
	h, config, addr := newSafetyHarness(t)
	sc := h.startSidecar(config, addr)
	h.backupShop()
	feb := h.partitions("shop.events")["202602"]
	sc.kill()
	for i, point := range replaceKillPoints {
		h.exec(fmt.Sprintf("INSERT INTO shop.events SELECT %d + number, '2026-01-20', 'live' FROM numbers(100)", 1000000*(i+1)))
		h.exec("ALTER TABLE shop.events DELETE WHERE toYYYYMM(d) = 202602 AND id % 5 = 0 SETTINGS mutations_sync = 2")
		live := h.partitions("shop.events")
		killed := h.startSidecarWith(config, addr, envFaultPoint+"="+point)
		id := h.request(h.as("eve"), "action, database, tables, partitions, mode", "'restore', 'shop', ['events'], ['202602'], 'replace'")
		select {
		case <-killed.exited:
		case <-time.After(time.Minute):
			t.Fatalf("the sidecar did not kill itself at %s", point)
		}
		now := h.partitions("shop.events")
		if now["202601"] != live["202601"] || now["202603"] != live["202603"] || now["202602"] != live["202602"] && now["202602"] != feb {
			t.Fatalf("killed at %s: events %+v, live %+v, February at backup %+v", point, now, live, feb)
		}
		restarted := h.startSidecar(config, addr)
		st := h.waitState(id, 2*time.Minute, "succeeded", "failed", "rejected")
		after := h.partitions("shop.events")
		if st.state != "succeeded" || after["202602"] != feb || after["202601"] != live["202601"] || after["202603"] != live["202603"] {
			t.Fatalf("killed at %s and restarted: %s %q; events %+v, want February %+v and the rest %+v", point, st.state, st.message, after, feb, live)
		}
		if n := h.staging(); n != 0 {
			t.Fatalf("killed at %s: %d staging tables left", point, n)
		}
		restarted.kill()
	}
}

// TestAttack22PartitionReplaceKeepsConcurrentInserts — PASSES (resists):
// while a slow partition replace of February runs (every data GET slowed),
// the application keeps inserting into January and March; every row it
// inserted is there afterwards, and February is exactly the backup's.
func TestAttack22PartitionReplaceKeepsConcurrentInserts(t *testing.T) {
	h, config, addr := newSafetyHarness(t)
	proxy := newS3Proxy(t, h.bed.MinIO.Endpoint)
	h.startSidecar(h.viaProxy(config, proxy), addr)
	h.backupShop()
	feb := h.partitions("shop.events")["202602"]
	h.exec("ALTER TABLE shop.events DELETE WHERE toYYYYMM(d) = 202602 AND id % 2 = 0 SETTINGS mutations_sync = 2")
	janBefore := h.count("SELECT count() FROM shop.events WHERE toYYYYMM(d) IN (202601, 202603)")
	proxy.slowDown("/data/", time.Second)
	id := h.request(h.as("eve"), "action, database, tables, partitions, mode", "'restore', 'shop', ['events'], ['202602'], 'replace'")
	inserted := 0
	for st := h.status(id); !strings.Contains("succeeded failed rejected cancelled", st.state) || st.state == ""; st = h.status(id) {
		h.exec(fmt.Sprintf("INSERT INTO shop.events SELECT %d + number, if(number %% 2 = 0, toDate('2026-01-09'), toDate('2026-03-09')), 'during' FROM numbers(10)",
			5000000+inserted))
		inserted += 10
		time.Sleep(100 * time.Millisecond)
	}
	st := h.status(id)
	if st.state != "succeeded" {
		t.Fatalf("the partition replace ended %s %q", st.state, st.message)
	}
	if got := h.count("SELECT count() FROM shop.events WHERE toYYYYMM(d) IN (202601, 202603)"); got != janBefore+uint64(inserted) {
		t.Fatalf("January and March hold %d rows; %d before and %d inserted during the replace", got, janBefore, inserted)
	}
	if got := h.partitions("shop.events")["202602"]; got != feb {
		t.Fatalf("February %+v after the replace, the backup's %+v", got, feb)
	}
	t.Logf("%d rows inserted into January and March while February was replaced, all kept", inserted)
}

// TestAttack22ReplaceRefusedWhereTablesCannotBeSwapped — PASSES (resists):
// a whole-table replace into a database of engine Ordinary (no EXCHANGE
// TABLES) is refused before anything is created, with the reason, and the
// live table is untouched.
func TestAttack22ReplaceRefusedWhereTablesCannotBeSwapped(t *testing.T) {
	h, config, addr := newSafetyHarness(t)
	err := h.ch.Do(h.ctx, ch.Query{Body: "CREATE DATABASE legacy ENGINE = Ordinary",
		Settings: []ch.Setting{ch.SettingInt("allow_deprecated_database_ordinary", 1)}})
	if err != nil {
		t.Fatal(err)
	}
	h.exec("CREATE TABLE legacy.orders (id UInt64, item String) ENGINE = MergeTree ORDER BY id")
	h.exec("INSERT INTO legacy.orders SELECT number, 'legacy' FROM numbers(10)")
	h.startSidecar(config, addr)
	h.backupShop()
	before := h.fingerprint("legacy.orders")
	st := h.expectRequest(h.as("admin"), "action, database, tables, target, mode", "'restore', 'shop', ['orders'], 'legacy', 'replace'",
		"failed", "cannot swap tables")
	if got := h.fingerprint("legacy.orders"); got != before || h.staging() != 0 {
		t.Fatalf("a refused replace changed legacy.orders (%+v, before %+v) or left %d staging tables: %q", got, before, h.staging(), st.message)
	}
	if !strings.Contains(st.message, "Ordinary") {
		t.Fatalf("the refusal does not name the engine: %q", st.message)
	}
}

// TestAttack22ReplaceSurvivesAClickHouseRestart — PASSES (resists): the
// issue names "ClickHouse restarts" among the faults of a replace, and no
// test killed the engine itself. ClickHouse is killed while the staging
// copy of orders is being restored (data GETs slowed) and started again:
// the RESTORE is gone; the sidecar answers once, orders keeps every row it
// had (rows added since the backup included), and no staging table is
// left.
func TestAttack22ReplaceSurvivesAClickHouseRestart(t *testing.T) {
	h, config, addr := newSafetyHarness(t)
	proxy := newS3Proxy(t, h.bed.MinIO.Endpoint)
	h.startSidecar(h.viaProxy(config, proxy), addr)
	h.backupShop()
	h.exec("INSERT INTO shop.orders SELECT 900000 + number, 'after the backup' FROM numbers(100)")
	before := h.fingerprint("shop.orders")
	proxy.slowDown("/data/", 2*time.Second)
	id := h.request(h.as("alice"), "action, database, tables, mode", "'restore', 'shop', ['orders'], 'replace'")
	for deadline := time.Now().Add(time.Minute); h.staging() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no staging table appeared: %+v", h.status(id))
		}
	}
	h.bed.ClickHouse.Kill()
	time.Sleep(time.Second)
	proxy.slowDown("", 0)
	h.restartEngine()
	st := h.waitState(id, 3*time.Minute, "succeeded", "failed", "rejected")
	got := h.fingerprint("shop.orders")
	if got != before || h.staging() != 0 {
		t.Fatalf("after ClickHouse restarted mid-replace (%s %q): orders %+v, before %+v; %d staging tables left",
			st.state, st.message, got, before, h.staging())
	}
	t.Logf("answer after the engine restart: %s %q", st.state, st.message)
}
