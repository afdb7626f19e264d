package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// newPlanRequestsHarness: shop.orders (1,000 rows) and shop.rmv, a
// refreshable view (every second, its definer the sidecar's user) whose TO
// table is prod.sink, outside shop; backed up once, then rmv is dropped and
// prod.sink cleared, so a row there later came from a restored copy. A
// sidecar runs; alice may restore shop into shop_restored. It returns the
// sidecar's address. extra grants go to the users named.
func newPlanRequestsHarness(t *testing.T, extra map[string][]string) (*harness, string) {
	h := newPlanRequestsBed(t, extra)
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, "poll_interval = \"200ms\"\n"), addr)
	return h, addr
}

// newPlanRequestsBed is newPlanRequestsHarness without the sidecar.
func newPlanRequestsBed(t *testing.T, extra map[string][]string) *harness {
	h := newHarnessWith(t, sidecarUsersWith(extra))
	h.createShop(1000)
	h.exec("CREATE DATABASE prod")
	h.exec("CREATE TABLE prod.sink (n UInt64, t DateTime, db String) ENGINE = MergeTree ORDER BY t")
	h.exec("CREATE MATERIALIZED VIEW shop.rmv REFRESH EVERY 1 SECOND APPEND TO prod.sink DEFINER = clickvault SQL SECURITY DEFINER AS SELECT count() AS n, now() AS t, currentDatabase() AS db FROM shop.orders")
	h.mustRun("backup")
	h.exec("DROP TABLE shop.rmv SYNC")
	h.exec("TRUNCATE TABLE prod.sink")
	return h
}

// expectNothingRestored: shop_restored does not exist and prod.sink got no
// row from a copy.
func (h *harness) expectNothingRestored(what string) {
	h.t.Helper()
	if h.databaseExists("shop_restored") {
		h.t.Fatalf("%s created shop_restored", what)
	}
	if n := h.count("SELECT count() FROM prod.sink"); n != 0 {
		h.t.Fatalf("after %s prod.sink holds %d rows from a copy", what, n)
	}
}

// TestRestoreRequestDryRun (issue 22, plan over SQL): alice's restore
// request with dry_run = true answers succeeded with the plan — the
// refreshable view refused with its reasons, orders restored, a rename
// shown, how to go on — and creates nothing; with consumers = 'skip' the
// plan leaves the view out; a renamed table is shown with its new name.
func TestRestoreRequestDryRun(t *testing.T) {
	h, _ := newPlanRequestsHarness(t, nil)
	alice := h.as("alice")
	st := h.expectRequest(alice, "action, database, target, dry_run", "'restore', 'shop', 'shop_restored', true",
		"succeeded", "dry run, nothing was restored")
	for _, want := range []string{"refuse materialized view rmv", "a refreshable materialized view", "writes into prod.sink, outside shop",
		"restore table orders (MergeTree)", "As asked, the restore would be refused: say consumers = 'skip'"} {
		if !strings.Contains(st.message, want) {
			t.Errorf("the dry run's answer does not say %q:\n%s", want, st.message)
		}
	}
	h.expectNothingRestored("a dry run")

	st = h.expectRequest(alice, "action, database, target, consumers, dry_run", "'restore', 'shop', 'shop_restored', 'skip', true",
		"succeeded", "dry run")
	if !strings.Contains(st.message, "skip materialized view rmv") || strings.Contains(st.message, "would be refused") {
		t.Errorf("a dry run with consumers = 'skip':\n%s", st.message)
	}
	st = h.expectRequest(alice, "action, database, target, tables, dry_run", "'restore', 'shop', 'shop_restored', ['orders AS orders_copy'], true",
		"succeeded", "dry run")
	if !strings.Contains(st.message, "restore table orders as orders_copy (MergeTree)") {
		t.Errorf("a dry run of a rename:\n%s", st.message)
	}
	h.expectNothingRestored("a dry run with consumers = 'skip'")
}

// TestRestoreRequestConsumers (issue 22, consumers over SQL): a restore of
// a backup with a refreshable view writing outside is rejected by default,
// naming it, and creates nothing; an unknown choice is rejected naming the
// field and its values, and so is consumers on a verify; 'skip' restores
// orders without the view.
func TestRestoreRequestConsumers(t *testing.T) {
	h, _ := newPlanRequestsHarness(t, nil)
	alice := h.as("alice")
	st := h.expectRequest(alice, "action, database, target", "'restore', 'shop', 'shop_restored'",
		"rejected", "rmv (a refreshable materialized view")
	if !strings.Contains(st.message, "consumers = 'skip'") || !strings.Contains(st.message, "consumers = 'include'") {
		t.Errorf("the refusal does not say how to go on: %s", st.message)
	}
	h.expectNothingRestored("a refused restore")
	h.expectRequest(alice, "action, database, target, consumers", "'restore', 'shop', 'shop_restored', 'sometimes'",
		"rejected", `unknown consumers "sometimes": want '' (the default`)
	h.expectRequest(alice, "action, database, consumers", "'verify', 'shop', 'include'", "rejected", "consumers is for restores, not verify")
	h.expectNothingRestored("rejected requests")

	h.expectRequest(alice, "action, database, target, consumers", "'restore', 'shop', 'shop_restored', 'skip'",
		"succeeded", "left out (consumers = 'skip'): rmv")
	if n := h.count("SELECT count() FROM shop_restored.orders"); n != 1000 {
		t.Fatalf("shop_restored.orders has %d rows, want 1000", n)
	}
	if n := h.count("SELECT count() FROM system.tables WHERE database = 'shop_restored' AND name = 'rmv'"); n != 0 {
		t.Fatal("consumers = 'skip' restored rmv")
	}

}

// TestRestoreRequestIncludesViewStopped (issue 22): with consumers =
// 'include' the refreshable view is restored stopped (system.view_refreshes
// says Disabled and that it never refreshed; the sidecar needs SYSTEM VIEWS
// on the target for it, see deploy/grants.sql) and never refreshes before
// a person starts it: prod.sink, which it writes into, stays empty
// (sinkRows). alice may include it: she holds INSERT on prod.sink.
func TestRestoreRequestIncludesViewStopped(t *testing.T) {
	h, _ := newPlanRequestsHarness(t, map[string][]string{"alice": {"INSERT ON prod.sink"}})
	h.expectRequest(h.as("alice"), "action, database, target, consumers", "'restore', 'shop', 'shop_restored', 'include'",
		"succeeded", "refreshable views restored stopped, start them with SYSTEM START VIEW: rmv")
	if n := h.count("SELECT count() FROM shop_restored.orders"); n != 1000 {
		t.Fatalf("shop_restored.orders has %d rows, want 1000", n)
	}
	if n := h.count("SELECT count() FROM system.view_refreshes WHERE database = 'shop_restored' AND view = 'rmv' AND status = 'Disabled' " +
		"AND last_refresh_time IS NULL"); n != 1 {
		t.Fatalf("rmv is not restored stopped and never refreshed: %s", h.viewRefreshes())
	}
	if n := h.sinkRows(); n != 0 {
		t.Fatalf("the included view refreshed before anyone started it: prod.sink got %d rows; %s", n, h.viewRefreshes())
	}
	// Started by a person, it runs as it did in production, into prod.sink.
	h.exec("SYSTEM START VIEW shop_restored.rmv")
	h.exec("SYSTEM REFRESH VIEW shop_restored.rmv")
	h.exec("SYSTEM WAIT VIEW shop_restored.rmv")
	if n := h.count("SELECT count() FROM prod.sink WHERE db = 'shop_restored' AND n = 1000"); n == 0 {
		t.Fatalf("started, the restored view wrote nothing into prod.sink; %s", h.viewRefreshes())
	}
}

// TestRestoreRequestIncludeNeedsTheRights (issue 22): consumers = 'include'
// recreates rmv, which writes into prod.sink with the sidecar's rights.
// alice, who may restore shop into shop_restored but holds no right on
// prod.sink, is rejected naming INSERT on prod.sink, and nothing is
// created; over HTTP (the operator's) the same restore runs.
func TestRestoreRequestIncludeNeedsTheRights(t *testing.T) {
	h, addr := newPlanRequestsHarness(t, nil)
	h.expectRequest(h.as("alice"), "action, database, target, consumers", "'restore', 'shop', 'shop_restored', 'include'",
		"rejected", `user "alice" lacks INSERT on table prod.sink (materialized view rmv, restored live with consumers = 'include'`)
	h.expectNothingRestored("a refused include")
	h.expectRequest(h.as("alice"), "action, database, target, consumers, dry_run", "'restore', 'shop', 'shop_restored', 'include', true",
		"rejected", `user "alice" lacks INSERT on table prod.sink`)
	st := h.waitState(queued(t, "http://"+addr+"/v1/restores", `{"database":"shop","target":"shop_restored","consumers":"include"}`),
		time.Minute, "succeeded", "failed", "rejected")
	if st.state != "succeeded" || !strings.Contains(st.message, "restored stopped") {
		t.Fatalf("the operator's include over HTTP: %+v", st)
	}
	if n := h.sinkRows(); n != 0 {
		t.Fatalf("the included view refreshed: prod.sink got %d rows; %s", n, h.viewRefreshes())
	}
}

// viewRefreshes says what system.view_refreshes shows, for a failure.
func (h *harness) viewRefreshes() string {
	h.t.Helper()
	var rows proto.ColStr
	q := "SELECT concat(database, '.', view, ' ', toString(status), ' last refresh ', ifNull(toString(last_refresh_time), 'never')) AS r FROM system.view_refreshes"
	if err := h.ch.Do(h.ctx, ch.Query{Body: q, Result: proto.ResultColumn{Name: "r", Data: &rows}}); err != nil {
		return err.Error()
	}
	var out []string
	for i := 0; i < rows.Rows(); i++ {
		out = append(out, rows.Row(i))
	}
	return "view_refreshes: " + strings.Join(out, "; ")
}

// TestRestoreHTTPConsumersAndDryRun (issue 22, plan over HTTP): POST
// /v1/restores takes dry_run (the answer is the plan, nothing is created)
// and consumers; an unknown consumers value is a 400 naming the field.
func TestRestoreHTTPConsumersAndDryRun(t *testing.T) {
	h, addr := newPlanRequestsHarness(t, nil)
	url := "http://" + addr + "/v1/restores"
	code, out := post(t, url, httpToken, `{"database":"shop","target":"shop_restored","consumers":"sometimes"}`)
	if code != http.StatusBadRequest || !strings.Contains(out, `consumers \"sometimes\" is not a choice`) || !strings.Contains(out, `\"include\"`) {
		t.Fatalf("POST with consumers sometimes: %d %s, want 400 naming consumers and its values", code, out)
	}
	st := h.waitState(queued(t, url, `{"database":"shop","target":"shop_restored","dry_run":true}`), time.Minute, "succeeded", "failed", "rejected")
	if st.state != "succeeded" || !strings.Contains(st.message, "dry run, nothing was restored") ||
		!strings.Contains(st.message, "refuse materialized view rmv") {
		t.Fatalf("a dry run over HTTP: %+v", st)
	}
	h.expectNothingRestored("a dry run over HTTP")
	st = h.waitState(queued(t, url, `{"database":"shop","target":"shop_restored","consumers":"skip"}`), time.Minute, "succeeded", "failed", "rejected")
	if st.state != "succeeded" || !strings.Contains(st.message, "left out (consumers = 'skip'): rmv") {
		t.Fatalf("a restore with consumers skip over HTTP: %+v", st)
	}
	if n := h.count("SELECT count() FROM shop_restored.orders"); n != 1000 {
		t.Fatalf("shop_restored.orders has %d rows, want 1000", n)
	}
}

// queued posts a request that must be accepted and returns its id.
func queued(t *testing.T, url, body string) string {
	t.Helper()
	code, out := post(t, url, httpToken, body)
	if code != http.StatusAccepted {
		t.Fatalf("POST %s: %d %s", body, code, out)
	}
	return regexp.MustCompile(`"id":"([0-9a-f-]+)"`).FindStringSubmatch(out)[1]
}
