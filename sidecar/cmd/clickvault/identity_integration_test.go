package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
	"github.com/google/uuid"
)

// identityUsers: mallory holds the requester role's rights plus her own
// database, where she may create views, and SELECT on shared; alice may
// write shared.events, back up shop and restore it into shop_restored.
func identityUsers() map[string][]string {
	return map[string][]string{
		"mallory": {"CREATE DATABASE, CREATE TABLE, CREATE VIEW, DROP VIEW, INSERT, SELECT ON mallory_db.*", "SELECT ON shared.*",
			"TABLE ENGINE ON *"},
		"alice": {"INSERT, SELECT ON shared.*"},
	}
}

// newIdentityHarness: a sidecar as grants.sql's clickvault, shop with rows,
// shared.events that alice writes, mallory's own database; a short
// confirm_wait so that an unconfirmable row is answered within the test.
func newIdentityHarness(t *testing.T) *harness {
	h := newHarnessWith(t, sidecarUsersWith(identityUsers()))
	h.createShop(500)
	h.exec("CREATE DATABASE shared")
	h.exec("CREATE TABLE shared.events (x UInt64) ENGINE = MergeTree ORDER BY x")
	h.exec("CREATE DATABASE mallory_db")
	h.exec("CREATE TABLE mallory_db.sink (action String) ENGINE = MergeTree ORDER BY action")
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, `confirm_wait = "3s"`), addr)
	return h
}

// databaseExists asks the administrator's session.
func (h *harness) databaseExists(name string) bool {
	h.t.Helper()
	return h.count("SELECT count() FROM system.databases WHERE name = '"+name+"'") == 1
}

// TestForgedInitialUserIsNotARequester (issue 23, item 1): mallory sends
// her INSERT as a secondary query naming clickvault as its initial user.
// The row names her (authenticatedUser()), and it is not acted on: the
// query log has no initial INSERT of hers for it.
func TestForgedInitialUserIsNotARequester(t *testing.T) {
	h := newIdentityHarness(t)
	sec, err := h.bed.ClickHouse.DialSecondary(h.ctx, "mallory", sidecarUser)
	if err != nil {
		t.Fatal(err)
	}
	defer sec.Close()
	id := uuid.NewString()
	q := "INSERT INTO clickvault.requests (id, action, database, target) SELECT '" + id + "', 'restore', 'shop', 'mallory_leak'"
	if err := sec.Do(h.ctx, ch.Query{Body: q}); err != nil {
		t.Fatalf("the secondary INSERT: %v", err)
	}
	st := h.waitState(id, time.Minute, "rejected", "succeeded", "failed")
	if st.state != "rejected" || st.requestedBy != "mallory" || !strings.Contains(st.message, "not a request") {
		t.Fatalf("forged secondary request: %+v; want rejected, requested_by mallory, saying why", st)
	}
	if h.databaseExists("mallory_leak") {
		t.Fatal("the forged restore created mallory_leak")
	}
}

// TestRequestFromAViewIsNotARequest (issue 23, item 2): mallory's
// materialized view turns alice's INSERT into shared.events into a row of
// requests by alice; it is rejected naming the view, and nothing runs.
// The defence is no denial of service: a view that reads requests as its
// source leaves alice's own requests alone.
func TestRequestFromAViewIsNotARequest(t *testing.T) {
	h := newIdentityHarness(t)
	mallory, alice := h.as("mallory"), h.as("alice")
	for _, q := range []string{
		"CREATE MATERIALIZED VIEW mallory_db.pwn TO clickvault.requests AS SELECT 'restore' AS action, 'shop' AS database, 'alice_copy' AS target FROM shared.events",
		"CREATE MATERIALIZED VIEW mallory_db.spy TO mallory_db.sink AS SELECT action FROM clickvault.requests",
	} {
		if err := mallory.Do(h.ctx, ch.Query{Body: q}); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := alice.Do(h.ctx, ch.Query{Body: "INSERT INTO shared.events VALUES (1)"}); err != nil {
		t.Fatal(err)
	}
	var fired proto.ColStr
	deadline := time.Now().Add(10 * time.Second)
	for fired.Rows() == 0 && time.Now().Before(deadline) {
		fired.Reset()
		if err := h.ch.Do(h.ctx, ch.Query{Body: "SELECT toString(id) AS id FROM clickvault.requests WHERE target = 'alice_copy'",
			Result: proto.ResultColumn{Name: "id", Data: &fired}}); err != nil {
			t.Fatal(err)
		}
	}
	if fired.Rows() != 1 {
		t.Fatalf("the view made %d rows", fired.Rows())
	}
	st := h.waitState(fired.Row(0), time.Minute, "rejected", "succeeded", "failed")
	if st.state != "rejected" || st.requestedBy != "alice" || !strings.Contains(st.message, "mallory_db.pwn") {
		t.Fatalf("request made by mallory's view: %+v; want rejected naming mallory_db.pwn", st)
	}
	if h.databaseExists("alice_copy") {
		t.Fatal("the view's restore created alice_copy")
	}
	honest := h.request(alice, "action, database", "'backup', 'shop'")
	if st := h.waitState(honest, time.Minute, "rejected", "succeeded", "failed"); st.state != "succeeded" {
		t.Fatalf("alice's own request beside mallory's spy view: %+v; want succeeded", st)
	}
}

// TestRequestedAtIsTheServers (issue 23, item 3): requested_at cannot be
// set by the inserter, even with insert_allow_materialized_columns.
func TestRequestedAtIsTheServers(t *testing.T) {
	h := newIdentityHarness(t)
	for _, q := range []string{
		"INSERT INTO clickvault.requests (action, database, requested_at) SETTINGS insert_allow_materialized_columns = 1 VALUES ('backup', 'shop', '2000-01-01 00:00:00')",
		"INSERT INTO clickvault.requests (action, database, query_id) SETTINGS insert_allow_materialized_columns = 1 VALUES ('backup', 'shop', 'someone-elses-query')",
	} {
		if err := h.as("mallory").Do(h.ctx, ch.Query{Body: q}); !ch.IsErr(err, proto.ErrViolatedConstraint) {
			t.Errorf("%s\nwant VIOLATED_CONSTRAINT (469), got %v", q, err)
		}
	}
}

// TestOperatorOnlyByProof (issue 23, item 4): a row inserted directly by
// the sidecar's own login, but not by the sidecar (no proof), gets none of
// the operator's exemptions: here, setting via.
func TestOperatorOnlyByProof(t *testing.T) {
	h := newIdentityHarness(t)
	id := h.request(h.as(sidecarUser), "action, database, via", "'backup', 'shop', 'http:12345678'")
	st := h.waitState(id, time.Minute, "rejected", "succeeded", "failed")
	if st.state != "rejected" || !strings.Contains(st.message, "via is set only by the sidecar") {
		t.Fatalf("a row of the sidecar's login without proof: %+v; want rejected for via", st)
	}
}

// TestRowPolicyRefusesRestore (issue 23, item 5): a row policy restricts
// what alice reads of shop.orders; a restore of shop into a database she
// may read would hand her every row, so it is refused naming the policy.
// A verify, which restores where nobody reads, still runs.
func TestRowPolicyRefusesRestore(t *testing.T) {
	opts := sidecarUsers
	opts.RowPolicies = map[string]map[string]string{"alice": {"shop.orders": "id < 10"}}
	h := newHarnessWith(t, opts)
	h.createShop(100)
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, ""), addr)
	alice := h.as("alice")
	if st := h.waitState(h.request(alice, "action, database", "'backup', 'shop'"), time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" {
		t.Fatalf("backup: %+v", st)
	}
	st := h.waitState(h.request(alice, "action, database, target", "'restore', 'shop', 'shop_restored'"), time.Minute, "succeeded", "failed", "rejected")
	if st.state != "rejected" || !strings.Contains(st.message, "row policy") {
		t.Fatalf("restore past a row policy: %+v; want rejected naming the policy", st)
	}
	if h.databaseExists("shop_restored") {
		t.Fatal("the refused restore created shop_restored")
	}
	if st := h.waitState(h.request(alice, "action, database", "'verify', 'shop'"), time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" {
		t.Fatalf("verify under a row policy: %+v; want succeeded", st)
	}
}

// TestRightsBeforeFacts (issue 23, item 6): a restore of orders as
// hr.salaries by a user with no right on hr is answered with the missing
// right only: nothing about hr's tables or rows.
func TestRightsBeforeFacts(t *testing.T) {
	h, _ := newSidecarHarness(t, 100, "")
	h.exec("CREATE DATABASE hr")
	h.exec("CREATE TABLE hr.salaries (id UInt64, item String) ENGINE = MergeTree ORDER BY id")
	h.exec("INSERT INTO hr.salaries SELECT number, 'secret' FROM numbers(42)")
	alice := h.as("alice")
	if st := h.waitState(h.request(alice, "action, database", "'backup', 'shop'"), time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" {
		t.Fatalf("backup: %+v", st)
	}
	for _, values := range []string{"'restore', 'shop', 'hr', ['orders AS salaries']", "'restore', 'shop', 'hr', []"} {
		st := h.waitState(h.request(alice, "action, database, target, tables", values), time.Minute, "succeeded", "failed", "rejected")
		if st.state != "rejected" || !strings.Contains(st.message, "lacks CREATE TABLE on") {
			t.Fatalf("(%s): %+v; want rejected for the missing right", values, st)
		}
		for _, fact := range []string{"42", "rows", "exists", "not empty", "tables or views"} {
			if strings.Contains(st.message, fact) {
				t.Errorf("(%s): the answer %q tells %q about hr", values, st.message, fact)
			}
		}
	}
}
