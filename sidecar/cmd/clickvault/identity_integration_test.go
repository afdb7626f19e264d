package main

import (
	"os"
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
	return newIdentityHarnessWith(t, identityUsers())
}

func newIdentityHarnessWith(t *testing.T, users map[string][]string) *harness {
	h, _ := newIdentitySidecar(t, users)
	return h
}

func newIdentitySidecar(t *testing.T, users map[string][]string) (*harness, *sidecarProc) {
	h := newHarnessWith(t, sidecarUsersWith(users))
	h.createShop(500)
	h.exec("CREATE DATABASE shared")
	h.exec("CREATE TABLE shared.events (x UInt64) ENGINE = MergeTree ORDER BY x")
	h.exec("CREATE DATABASE mallory_db")
	h.exec("CREATE TABLE mallory_db.sink (action String) ENGINE = MergeTree ORDER BY action")
	addr := freeAddr(t)
	return h, h.startSidecar(h.sidecarConfig(addr, `confirm_wait = "3s"`), addr)
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
	defer func() { _ = sec.Close() }()
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
// grants.sql's requesters cannot create such a view (it needs SELECT on
// requests: TestViewsOnTheControlPlaneStopNobody); here mallory reads
// requests as every requester of an installation before that rule did.
func TestRequestFromAViewIsNotARequest(t *testing.T) {
	users := identityUsers()
	users["mallory"] = append(users["mallory"], "SELECT ON clickvault.requests")
	h := newIdentityHarnessWith(t, users)
	mallory, alice := h.as("mallory"), h.as("alice")
	q := "CREATE MATERIALIZED VIEW mallory_db.pwn TO clickvault.requests AS SELECT 'restore' AS action, 'shop' AS database, 'alice_copy' AS target FROM shared.events"
	if err := mallory.Do(h.ctx, ch.Query{Body: q}); err != nil {
		t.Fatalf("%s: %v", q, err)
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
}

// TestViewsOnTheControlPlaneStopNobody (issue 23: the defence is no denial
// of service): a requester cannot hang a materialized view on requests,
// request_log or backups (one that fails would fail every INSERT; one that
// sleeps would hold every answer; one that writes into requests would make
// every request unconfirmable), and the views she can hang on what she may
// read (request_status, chains, catalog: views, never fired) stop nobody's
// request. An operator's failing view on backups does not stop the catalog
// either (its errors are ignored).
func TestViewsOnTheControlPlaneStopNobody(t *testing.T) {
	h, sidecar := newIdentitySidecar(t, identityUsers())
	mallory := h.as("mallory")
	for _, source := range []string{"requests", "request_log", "backups"} {
		q := "CREATE MATERIALIZED VIEW mallory_db.loop_" + source + " TO mallory_db.sink AS SELECT toString(throwIf(1)) AS action FROM clickvault." + source
		if err := mallory.Do(h.ctx, ch.Query{Body: q}); !ch.IsErr(err, proto.ErrAccessDenied) {
			t.Errorf("%s: %v; want ACCESS_DENIED", q, err)
		}
	}
	for _, source := range []string{"request_status", "chains", "catalog"} {
		q := "CREATE MATERIALIZED VIEW mallory_db.boom_" + source + " TO mallory_db.sink AS SELECT toString(throwIf(1, 'mallory says no')) AS action FROM clickvault." + source
		if err := mallory.Do(h.ctx, ch.Query{Body: q}); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	q := "CREATE MATERIALIZED VIEW mallory_db.forge TO clickvault.requests AS SELECT 'cleanup' AS action FROM clickvault.catalog"
	if err := mallory.Do(h.ctx, ch.Query{Body: q}); !ch.IsErr(err, proto.ErrAccessDenied) {
		t.Errorf("%s: %v; want ACCESS_DENIED (a view into requests needs SELECT on it)", q, err)
	}
	// The operator's own view on backups, failing: the catalog goes on.
	h.exec("CREATE MATERIALIZED VIEW mallory_db.boom_backups TO mallory_db.sink AS SELECT toString(throwIf(1, 'mallory says no')) AS action FROM clickvault.backups")
	alice := h.as("alice")
	honest := h.request(alice, "action, database", "'backup', 'shop'")
	st := h.waitState(honest, time.Minute, "rejected", "succeeded", "failed")
	if st.state != "succeeded" {
		t.Fatalf("alice's request beside mallory's views: %+v; want succeeded", st)
	}
	if n := h.count("SELECT count() FROM clickvault.backups FINAL WHERE name = '" + st.backup + "' AND status = 'completed'"); n != 1 {
		t.Fatalf("the catalog has %d completed rows of %s; a failing view on it must not stop it", n, st.backup)
	}
	if log := readFile(t, sidecar.log); strings.Contains(log, "mallory says no") {
		t.Fatalf("mallory's view failed the sidecar's writes:\n%s", tailString(log, 3000))
	}
	sidecar.stop(t) // a restarted sidecar names the views that read its tables
	again := h.startSidecar(sidecar.config, sidecar.addr)
	if log := readFile(t, again.log); !strings.Contains(log, "mallory_db.boom_backups") {
		t.Fatalf("serve does not warn of the views on the control tables:\n%s", tailString(log, 3000))
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
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

// TestAnIDIsOneLogins (issue 23, item 3): mallory reuses alice's request id
// with a requested_at seconds earlier (the constraint allows a few seconds),
// so her row sorts first by time. The first row inserted is the request
// (the server's block order, which no INSERT sets): alice's backup runs as
// hers (mallory's cleanup never runs), and request_status names her.
func TestAnIDIsOneLogins(t *testing.T) {
	h, sidecar := newIdentitySidecar(t, identityUsers())
	sidecar.stop(t) // both rows are there before any sidecar looks
	id := h.request(h.as("alice"), "action, database", "'backup', 'shop'")
	q := "INSERT INTO clickvault.requests (id, action, database, requested_at) SETTINGS insert_allow_materialized_columns = 1 " +
		"SELECT '" + id + "', 'cleanup', 'shop', now64(3) - INTERVAL 4 SECOND"
	if err := h.as("mallory").Do(h.ctx, ch.Query{Body: q}); err != nil {
		t.Fatalf("mallory's row: %v", err)
	}
	h.startSidecar(sidecar.config, sidecar.addr)
	st := h.waitState(id, time.Minute, "rejected", "succeeded", "failed")
	if st.state != "succeeded" || st.requestedBy != "alice" || !strings.Contains(st.message, "backup") {
		t.Fatalf("alice's backup under an id mallory reused, dated back: %+v; want alice's, succeeded", st)
	}
}

// TestRequestThroughAProxyTableIsNotARequest (review of issue 23's views):
// mallory cannot read requests, so she cannot hang a view on it, but she
// can make a table of her own that writes into it (an Alias table here; a
// Distributed table on a cluster does the same) and hang a view on a table
// alice writes, writing into her proxy. alice's INSERT into shared.events
// then inserts a row into requests in alice's name and query: the query
// log shows alice's INSERT naming requests, the views log shows mallory's
// view writing into her proxy, not into requests. The row is rejected,
// naming the view: an INSERT into requests fires only views on requests.
// (This engine's query log does not name requests among the tables of an
// INSERT through an Alias table, so such a row was refused before, as not
// inserted into requests; a Distributed table's local write names it, as
// ClickHouse's source reads. The rule on fired views refuses both.)
func TestRequestThroughAProxyTableIsNotARequest(t *testing.T) {
	users := identityUsers()
	users["alice"] = append(users["alice"], "BACKUP ON shared.*")
	h := newIdentityHarnessWith(t, users)
	mallory, alice := h.as("mallory"), h.as("alice")
	for _, q := range []string{
		"CREATE TABLE mallory_db.proxy ENGINE = Alias('clickvault', 'requests')",
		"CREATE MATERIALIZED VIEW mallory_db.relay TO mallory_db.proxy AS SELECT 'backup' AS action, 'shared' AS database, 'full' AS kind FROM shared.events",
	} {
		if err := mallory.Do(h.ctx, ch.Query{Body: q}); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := alice.Do(h.ctx, ch.Query{Body: "INSERT INTO shared.events VALUES (1)"}); err != nil {
		t.Fatalf("alice's INSERT into shared.events: %v", err)
	}
	var relayed proto.ColStr
	for deadline := time.Now().Add(10 * time.Second); relayed.Rows() == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		relayed.Reset()
		if err := h.ch.Do(h.ctx, ch.Query{Body: "SELECT toString(id) AS id FROM clickvault.requests WHERE database = 'shared'",
			Result: proto.ResultColumn{Name: "id", Data: &relayed}}); err != nil {
			t.Fatal(err)
		}
	}
	if relayed.Rows() != 1 {
		t.Fatalf("mallory's relay made %d rows in requests", relayed.Rows())
	}
	st := h.waitState(relayed.Row(0), time.Minute, "rejected", "succeeded", "failed")
	if st.state != "rejected" || st.requestedBy != "alice" || !strings.Contains(st.message, "mallory_db.relay") {
		t.Fatalf("a row mallory's view relayed into requests in alice's name: %+v; want rejected naming mallory_db.relay", st)
	}
}
