package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestSidecarBySQL: a user with only a ClickHouse login backs up, follows
// progress, builds a chain and restores as of a time, all with SQL.
func TestSidecarBySQL(t *testing.T) {
	h, _ := newSidecarHarness(t, 100, "")
	alice := h.as("alice")

	id := h.request(alice, "action, database", "'backup', 'shop'")
	h.waitState(id, 2*time.Second, "running", "succeeded")
	st := h.waitState(id, time.Minute, "succeeded", "failed", "rejected")
	if st.state != "succeeded" || st.requestedBy != "alice" || st.backup == "" {
		t.Fatalf("first backup: %+v", st)
	}
	if n := h.count("SELECT count() FROM clickvault.backups FINAL WHERE database = 'shop' AND kind = 'full' AND status = 'completed'"); n != 1 {
		t.Fatalf("clickvault.backups shows %d completed fulls", n)
	}
	names := []string{st.backup}
	times := []time.Time{time.Now()}
	for i := 0; i < 3; i++ {
		h.addRows(100+10*i, 10)
		id := h.request(alice, "action, database", "'backup', 'shop'")
		st := h.waitState(id, time.Minute, "succeeded", "failed", "rejected")
		if st.state != "succeeded" {
			t.Fatalf("backup %d: %+v", i+2, st)
		}
		names, times = append(names, st.backup), append(times, time.Now())
		time.Sleep(20 * time.Millisecond)
	}
	if depth := h.count("SELECT toUInt64(depth) FROM clickvault.chains WHERE database = 'shop'"); depth != 4 {
		t.Fatalf("clickvault.chains depth = %d, want 4", depth)
	}

	// as_of between the 2nd and 3rd backups restores the 2nd: 110 rows.
	asOf := times[1].Add(10 * time.Millisecond).UTC().Format("2006-01-02 15:04:05.000")
	id = h.request(alice, "action, database, as_of, target", "'restore', 'shop', '"+asOf+"', 'shop_restored'")
	st = h.waitState(id, time.Minute, "succeeded", "failed", "rejected")
	if st.state != "succeeded" || st.backup != names[1] {
		t.Fatalf("restore as of %s: %+v, want backup %s", asOf, st, names[1])
	}
	if got := h.count("SELECT count() FROM shop_restored.orders"); got != 110 {
		t.Fatalf("restored %d rows, want 110", got)
	}
}

// TestSidecarRejects: bad or unauthorized requests are rejected with a
// message, and nothing runs for them.
func TestSidecarRejects(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(10)
	h.exec("CREATE DATABASE busy")
	h.exec("CREATE TABLE busy.t (a UInt8) ENGINE = MergeTree ORDER BY a")
	h.exec("CREATE DATABASE only_view")
	h.exec("CREATE VIEW only_view.v AS SELECT 1 AS one")
	h.exec("CREATE DATABASE tiny")
	h.exec("CREATE TABLE tiny.t (a UInt8) ENGINE = TinyLog")
	h.exec("INSERT INTO tiny.t VALUES (1), (2)")
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, ""), addr)
	alice, mallory := h.as("alice"), h.as("mallory")
	ok := h.request(alice, "action, database", "'backup', 'shop'")
	h.waitState(ok, time.Minute, "succeeded")

	clients := map[string]*ch.Client{"alice": alice, "mallory": mallory, "eve": h.as("eve"), testbed.Admin: h.ch}
	ids := map[string]string{}
	for _, c := range rejectCases {
		ids[c.name] = h.request(clients[c.by], c.columns, c.values)
	}
	for _, c := range rejectCases {
		st := h.waitState(ids[c.name], 30*time.Second, "rejected", "succeeded", "failed")
		if st.state != "rejected" || !strings.Contains(st.message, c.want) {
			t.Errorf("%s: got %s %q, want rejected with %q", c.name, st.state, st.message, c.want)
		}
	}
	// A dry run deletes nothing: BACKUP is enough.
	dry := h.request(alice, "action, database, dry_run", "'cleanup', 'shop', true")
	if st := h.waitState(dry, 30*time.Second, "succeeded", "failed", "rejected"); st.state != "succeeded" {
		t.Errorf("alice's dry-run cleanup: %s %q", st.state, st.message)
	}
	// mallory has only INSERT on requests and SELECT on clickvault.*:
	// ClickHouse itself refuses her shop's rows, and ClickVault refuses her
	// backup naming the right she lacks, recorded as asked by her.
	var rows proto.ColUInt64
	err := mallory.Do(h.ctx, ch.Query{Body: "SELECT count() FROM shop.orders", Result: proto.ResultColumn{Data: &rows}})
	if !ch.IsErr(err, proto.ErrAccessDenied) {
		t.Errorf("mallory reading shop.orders: want ClickHouse's ACCESS_DENIED, got %v", err)
	}
	if st := h.waitState(ids["no rights"], time.Second, "rejected"); st.requestedBy != "mallory" ||
		!strings.Contains(st.message, "BACKUP") {
		t.Errorf("mallory's backup: requested_by %q, message %q; want mallory and the missing BACKUP right", st.requestedBy, st.message)
	}
	h.assertNothingWritten()
}

// assertNothingWritten: the rejected requests of TestSidecarRejects created,
// backed up and wrote nothing.
func (h *harness) assertNothingWritten() {
	h.t.Helper()
	for query, want := range map[string]uint64{
		"SELECT count() FROM system.databases WHERE name IN ('shop_restored', 'eve_db', 'shop_other')": 0,
		"SELECT count() FROM clickvault.backups FINAL":                                                 1,
		"SELECT count() FROM busy.t":                                                                   0,
		"SELECT count() FROM tiny.t":                                                                   2,
		"SELECT count() FROM system.tables WHERE name = 'orders' AND database != 'shop'":               0,
	} {
		if got := h.count(query); got != want {
			h.t.Errorf("after the rejected requests, %s = %d, want %d", query, got, want)
		}
	}
	// Claims stay only for the two admitted requests (the backup and the
	// dry-run cleanup): a rejected request's claim, if it had one, is gone.
	deadline := time.Now().Add(10 * time.Second)
	for {
		keys, err := h.bed.MinIO.Keys(h.ctx, "cv/test/.clickvault/requests/")
		if err != nil {
			h.t.Fatal(err)
		}
		if len(keys) == 2 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%d claim objects after 2 admitted requests and %d rejected ones", len(keys), len(rejectCases))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rejectCase is a request that must be rejected, with what the message
// must say, made by one of the sidecar tests' users.
type rejectCase struct {
	name, columns, values, want string
	by                          string
}

// rejectCases are the bad and unauthorized requests of TestSidecarRejects.
var rejectCases = []rejectCase{
	{"unknown action", "action, database", "'explode', 'shop'", "unknown action", "alice"},
	{"unknown kind", "action, database, kind", "'backup', 'shop', 'differential'", "unknown backup kind", "alice"},
	// Rights first: without BACKUP on it, nothing says whether it exists.
	{"missing database", "action, database", "'backup', 'nosuchdb'", "lacks BACKUP on database nosuchdb", "alice"},
	{"injection", "action, database", "'backup', 'x; DROP TABLE y'", "is not a name ClickVault accepts", "alice"},
	{"as_of before 1970, before every backup", "action, database, as_of, target", "'restore', 'shop', '1965-05-05 00:00:00', 'shop_restored'", "no completed backup at or before 1965-05-05", "alice"},
	{"missing backup", "action, database, backup, target", "'restore', 'shop', '20990101T000000000Z', 'shop_restored'", "no such backup", "alice"},
	{"non-empty target", "action, database, target", "'restore', 'shop', 'busy'", "not empty", testbed.Admin},
	{"target holding only a view", "action, database, target", "'restore', 'shop', 'only_view'", "not empty", testbed.Admin},
	{"target holding a TinyLog table", "action, database, target", "'restore', 'shop', 'tiny'", "not empty", testbed.Admin},
	{"target system", "action, database, target", "'restore', 'shop', 'system'", "ClickHouse system database", testbed.Admin},
	{"target information_schema", "action, database, target", "'restore', 'shop', 'information_schema'", "ClickHouse system database", testbed.Admin},
	{"target INFORMATION_SCHEMA", "action, database, target", "'restore', 'shop', 'INFORMATION_SCHEMA'", "ClickHouse system database", testbed.Admin},
	{"target the control database", "action, database, target", "'restore', 'shop', 'clickvault'", "control database", testbed.Admin},
	{"target a verify scratch database", "action, database, target", "'restore', 'shop', 'clickvault_verify_0a1b'", "scratch database", testbed.Admin},
	{"no rights", "action, database", "'backup', 'shop'", "lacks BACKUP", "mallory"},
	{"cleanup that deletes, with BACKUP only", "action, database", "'cleanup', 'shop'", "lacks DROP TABLE on database shop", "alice"},
	{"forced full, with BACKUP only", "action, database, kind", "'backup', 'shop', 'full'", "lacks DROP TABLE on database shop", "alice"},
	{"restore without rights on the source", "action, database, target", "'restore', 'shop', 'eve_db'", "lacks SELECT on database shop", "eve"},
	{"restore into a new database without CREATE DATABASE", "action, database, target", "'restore', 'shop', 'shop_other'", "lacks CREATE DATABASE on database shop_other", "alice"},
	{"cancel naming a braced id", "action, backup", "'cancel', '{0f8fad5b-d9cb-469f-a165-70867728950e}'", "not a request id", "alice"},
	{"huge string", "action, database", "'backup', '" + strings.Repeat("a", 5000) + "'", "at most 256", "alice"},
}
