package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
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
