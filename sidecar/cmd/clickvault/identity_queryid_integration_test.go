package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// TestAnotherLoginsQueryIDStopsNobody (issue 23: the defence is no denial
// of service): a client names its query's id itself, so mallory can run
// queries under the id of alice's INSERT (a failing SELECT, an INSERT of
// her own). alice's request is judged by alice's queries alone, and runs.
func TestAnotherLoginsQueryIDStopsNobody(t *testing.T) {
	h, sidecar := newIdentitySidecar(t, identityUsers())
	sidecar.stop(t) // every query is in the log before any sidecar looks
	const shared = "predictable-query-id-1"
	id := "5a1ce000-0000-4000-8000-000000000001"
	if err := h.as("alice").Do(h.ctx, ch.Query{QueryID: shared,
		Body: "INSERT INTO clickvault.requests (id, action, database) VALUES ('" + id + "', 'backup', 'shop')"}); err != nil {
		t.Fatal(err)
	}
	mallory := h.as("mallory")
	_ = mallory.Do(h.ctx, ch.Query{QueryID: shared, Body: "SELECT throwIf(1, 'mallory was here')"})
	if err := mallory.Do(h.ctx, ch.Query{QueryID: shared,
		Body: "INSERT INTO clickvault.requests (action, database) VALUES ('backup', 'shop')"}); err != nil {
		t.Fatal(err)
	}
	h.startSidecar(sidecar.config, sidecar.addr)
	if st := h.waitState(id, time.Minute, "rejected", "succeeded", "failed"); st.state != "succeeded" {
		t.Fatalf("alice's request beside mallory's queries under its query id: %+v; want succeeded", st)
	}
}

// TestAsyncInsertIsARequest: a request inserted with async_insert (waited
// for, or not) is confirmed like any direct INSERT.
func TestAsyncInsertIsARequest(t *testing.T) {
	h := newIdentityHarness(t)
	for i, wait := range []string{"1", "0"} {
		id := "a5c00000-0000-4000-8000-00000000000" + string(rune('1'+i))
		q := "INSERT INTO clickvault.requests (id, action, database) SETTINGS async_insert = 1, wait_for_async_insert = " + wait +
			", async_insert_busy_timeout_max_ms = 200 VALUES ('" + id + "', 'backup', 'shop')"
		if err := h.as("alice").Do(h.ctx, ch.Query{Body: q}); err != nil {
			t.Fatal(err)
		}
		if st := h.waitState(id, time.Minute, "rejected", "succeeded", "failed"); st.state != "succeeded" {
			t.Fatalf("async insert (wait_for_async_insert = %s): %+v; want succeeded", wait, st)
		}
	}
}

// TestUnconfirmableRowCostsFewFlushes: a row whose INSERT the query log
// never shows (log_queries = 0) is looked at every poll until
// confirm_wait, but the logs are flushed for it twice, not at each look;
// it is then rejected saying what to change.
func TestUnconfirmableRowCostsFewFlushes(t *testing.T) {
	h, sidecar := newIdentitySidecar(t, identityUsers())
	sidecar.stop(t)
	h.startSidecar(h.sidecarConfig(sidecar.addr, "confirm_wait = \"3s\"\npoll_interval = \"200ms\""), sidecar.addr)
	start := time.Now()
	const id = "00000000-0000-4000-8000-0000000000aa"
	q := "INSERT INTO clickvault.requests (id, action, database) SETTINGS log_queries = 0 VALUES ('" + id + "', 'backup', 'shop')"
	if err := h.as("alice").Do(h.ctx, ch.Query{Body: q}); err != nil {
		t.Fatal(err)
	}
	st := h.waitState(id, time.Minute, "rejected", "succeeded", "failed")
	if st.state != "rejected" || !strings.Contains(st.message, "log_queries") {
		t.Fatalf("a row inserted with log_queries = 0: %+v; want rejected naming log_queries", st)
	}
	h.exec("SYSTEM FLUSH LOGS query_log")
	flushes := h.count("SELECT count() FROM system.query_log WHERE type = 'QueryFinish' AND user = 'clickvault' " +
		"AND query LIKE 'SYSTEM FLUSH LOGS%' AND event_time >= toDateTime(" + strconv.FormatInt(start.Unix(), 10) + ")")
	if flushes > 3 {
		t.Fatalf("%d flushes of the query log for one unconfirmable row; want at most 2 (and one for anything else)", flushes)
	}
}

// TestViewRowUnloggedIsNoRequest: alice's INSERT into shared.events fires
// mallory's view into requests, with log_query_views = 0 in alice's query,
// so query_views_log says nothing of what the view wrote. The row is
// refused all the same: the query log names the view fired.
func TestViewRowUnloggedIsNoRequest(t *testing.T) {
	users := identityUsers()
	users["mallory"] = append(users["mallory"], "SELECT ON clickvault.requests") // an installation before grants.sql's views
	h := newIdentityHarnessWith(t, users)
	q := "CREATE MATERIALIZED VIEW mallory_db.pwn TO clickvault.requests AS SELECT 'restore' AS action, 'shop' AS database, 'alice_copy' AS target FROM shared.events"
	if err := h.as("mallory").Do(h.ctx, ch.Query{Body: q}); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if err := h.as("alice").Do(h.ctx, ch.Query{Body: "INSERT INTO shared.events SETTINGS log_query_views = 0 VALUES (1)"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.count("SELECT count() FROM clickvault.requests WHERE target = 'alice_copy'") == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	id := h.firstID("SELECT toString(id) FROM clickvault.requests WHERE target = 'alice_copy'")
	st := h.waitState(id, time.Minute, "rejected", "succeeded", "failed")
	if st.state != "rejected" || !strings.Contains(st.message, "mallory_db.pwn") {
		t.Fatalf("a row written by mallory's view, unlogged in query_views_log: %+v; want rejected naming the view", st)
	}
	if h.databaseExists("alice_copy") {
		t.Fatal("the view's restore created alice_copy")
	}
}

func (h *harness) firstID(query string) string {
	h.t.Helper()
	var ids proto.ColStr
	if err := h.ch.Do(h.ctx, ch.Query{Body: query, Result: proto.ResultColumn{Data: &ids}}); err != nil || ids.Rows() == 0 {
		h.t.Fatalf("%s: %v (%d rows)", query, err, ids.Rows())
	}
	return ids.Row(0)
}
