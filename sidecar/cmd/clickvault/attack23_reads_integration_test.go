package main

import (
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// TestAttack23HiddenRowsStayHidden: mallory (the requester's rights, her
// own database with TABLE ENGINE ON *, SELECT on shared) tries to read
// alice's requests past the row policy on request_status and past the
// REVOKE on requests and request_log: a WHERE that throws on a hidden row
// (pushed down into the DEFINER view?), Merge and Buffer tables of her own
// over the control tables, the merge() table function, a DEFINER view
// naming the sidecar. Every one sees nothing or is refused.
func TestAttack23HiddenRowsStayHidden(t *testing.T) {
	opts := sidecarUsersWith(identityUsers())
	opts.RowPolicies = ownStatusOnly("alice", "mallory")
	h := newHarnessWith(t, opts)
	h.createShop(100)
	h.exec("CREATE DATABASE mallory_db")
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, ""), addr)
	alice, mallory := h.as("alice"), h.as("mallory")
	id := h.request(alice, "action, database", "'backup', 'shop'")
	h.waitState(id, time.Minute, "succeeded", "failed", "rejected")

	for _, ddl := range []string{
		"CREATE TABLE mallory_db.m (id UUID, requested_by String) ENGINE = Merge('clickvault', '^requests$')",
		"CREATE TABLE mallory_db.ml (request_id UUID, message String) ENGINE = Merge('clickvault', '^request_log$')",
		"CREATE TABLE mallory_db.b (id UUID, requested_by String) ENGINE = Buffer(clickvault, requests, 1, 1, 1, 1, 1, 1, 1)",
	} {
		if err := mallory.Do(h.ctx, ch.Query{Body: ddl}); err != nil {
			t.Fatalf("%s: %v", ddl, err)
		}
	}
	for _, q := range []string{
		"SELECT toString(id) AS s FROM clickvault.request_status",
		"SELECT toString(id) AS s FROM clickvault.request_status WHERE throwIf(requested_by = 'alice', 'LEAK: a hidden row reached my WHERE') = 0",
		"SELECT toString(id) AS s FROM clickvault.request_status WHERE id = '" + id + "' OR throwIf(requested_by != authenticatedUser(), 'LEAK') = 1",
		"SELECT toString(id) AS s FROM mallory_db.m",
		"SELECT toString(request_id) AS s FROM mallory_db.ml",
		"SELECT toString(id) AS s FROM mallory_db.b",
		"SELECT toString(id) AS s FROM merge('clickvault', '^requests$')",
		"SELECT toString(request_id) AS s FROM merge('clickvault', '^request_log$')",
	} {
		var s proto.ColStr
		err := mallory.Do(h.ctx, ch.Query{Body: q, Result: proto.ResultColumn{Name: "s", Data: &s}})
		if err != nil && strings.Contains(err.Error(), "LEAK") {
			t.Errorf("%s: a hidden row was evaluated: %v", q, err)
		}
		for i := 0; i < s.Rows(); i++ {
			if s.Row(i) == id {
				t.Errorf("%s: mallory reads alice's request %s", q, id)
			}
		}
	}
	// The same read as a secondary query naming alice as its initial user:
	// currentUser() is alice there, the row policy still mallory's.
	sec, err := h.bed.ClickHouse.DialSecondary(h.ctx, "mallory", "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sec.Close() }()
	var s proto.ColStr
	if err := sec.Do(h.ctx, ch.Query{Body: "SELECT toString(id) AS s FROM clickvault.request_status",
		Result: proto.ResultColumn{Name: "s", Data: &s}}); err == nil && s.Rows() > 0 {
		t.Errorf("mallory, as a secondary query naming alice, reads %d rows of request_status", s.Rows())
	}
	q := "CREATE VIEW mallory_db.v DEFINER = clickvault SQL SECURITY DEFINER AS SELECT id FROM clickvault.requests"
	if err := mallory.Do(h.ctx, ch.Query{Body: q}); !ch.IsErr(err, proto.ErrAccessDenied) {
		t.Errorf("%s: %v; want ACCESS_DENIED", q, err)
	}
}

// TestAttack23CatalogTellsWhatRightsHide: "rights first, then facts" — a
// requester who may not touch hr is told nothing about it by a request's
// answer. But every requester reads clickvault.backups (grants.sql), and
// the catalog names every database backed up, each table of it and its
// rows at backup time. mallory, with no right on hr, reads hr's table
// names and row counts with one SELECT. The product resists if she cannot.
func TestAttack23CatalogTellsWhatRightsHide(t *testing.T) {
	// grants.sql names each database backed up: here shop and hr.
	h := newHarnessWith(t, sidecarUsersWith(map[string][]string{"clickvault": {"BACKUP ON hr.*"}}))
	h.createShop(10)
	h.exec("CREATE DATABASE hr")
	h.exec("CREATE TABLE hr.salaries (id UInt64, amount UInt64) ENGINE = MergeTree ORDER BY id")
	h.exec("CREATE TABLE hr.layoffs_2027 (id UInt64) ENGINE = MergeTree ORDER BY id")
	h.exec("INSERT INTO hr.salaries SELECT number, 1000 FROM numbers(42)")
	addr := freeAddr(t)
	cfg := h.sidecarConfig(addr, "")
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text = []byte(strings.Replace(string(text), `database = "shop"`, `database = "shop"`+"\ndatabases = [\"shop\", \"hr\"]", 1))
	if err := os.WriteFile(cfg, text, 0o600); err != nil {
		t.Fatal(err)
	}
	sc := h.startSidecar(cfg, addr)
	code, out := post(t, "http://"+sc.addr+"/v1/backups", httpToken, `{"database":"hr"}`)
	if code != http.StatusAccepted {
		t.Fatalf("the operator's backup of hr: %d %s", code, out)
	}
	id := regexp.MustCompile(`"id":"([0-9a-f-]+)"`).FindStringSubmatch(out)[1]
	if st := h.waitState(id, time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" {
		t.Fatalf("the operator's backup of hr: %+v", st)
	}
	mallory := h.as("mallory")
	if err := mallory.Do(h.ctx, ch.Query{Body: "SELECT count() FROM hr.salaries"}); !ch.IsErr(err, proto.ErrAccessDenied) {
		t.Fatalf("mallory reading hr.salaries: %v; want ACCESS_DENIED", err)
	}
	var leak proto.ColStr
	q := "SELECT toString(tables) AS leak FROM clickvault.backups FINAL WHERE database = 'hr'"
	if err := mallory.Do(h.ctx, ch.Query{Body: q, Result: proto.ResultColumn{Name: "leak", Data: &leak}}); err != nil {
		t.Logf("mallory's read of the catalog: %v", err)
		return
	}
	for i := 0; i < leak.Rows(); i++ {
		t.Errorf("DEFECT: mallory, with no right on hr, reads from clickvault.backups: hr holds %s", leak.Row(i))
	}
}
