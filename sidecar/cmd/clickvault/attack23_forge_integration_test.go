package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/google/uuid"
)

// TestAttack23BufferIntoRequestsIsNoRequest: mallory may not create a
// materialized view into requests (that takes SELECT on it), but with
// CREATE TABLE on her own database she makes a Buffer table whose
// destination is clickvault.requests (no right on the destination is
// checked when it is created; an INSERT into it takes only INSERT on
// requests). The Buffer flushes from a background context, not hers:
// the row names no login and no query, it is rejected, and nothing runs,
// even with requested_by and query_id columns of her choosing.
func TestAttack23BufferIntoRequestsIsNoRequest(t *testing.T) {
	h := newIdentityHarness(t)
	mallory := h.as("mallory")
	id := uuid.NewString()
	for _, q := range []string{
		"CREATE TABLE mallory_db.buf (id UUID, action String, database String, target String, requested_by String, query_id String) " +
			"ENGINE = Buffer(clickvault, requests, 1, 0, 1, 1, 1, 1, 1)",
		"INSERT INTO mallory_db.buf VALUES ('" + id + "', 'restore', 'shop', 'mallory_leak', 'clickvault', 'forged-query')",
	} {
		if err := mallory.Do(h.ctx, ch.Query{Body: q}); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	st := h.waitState(id, time.Minute, "rejected", "succeeded", "failed")
	if st.state != "rejected" || st.requestedBy == sidecarUser || st.requestedBy == "mallory" {
		t.Fatalf("a row flushed from mallory's Buffer: %+v; want rejected, naming no login", st)
	}
	t.Logf("the Buffer's row: requested_by %q, %s %q", st.requestedBy, st.state, st.message)
	if h.databaseExists("mallory_leak") {
		t.Fatal("the Buffer's restore created mallory_leak")
	}
}

// TestAttack23HonestInsertsOverClickHouseHTTP: the defence is no denial of
// service: a requester who uses ClickHouse's HTTP interface (curl, BI
// tools), with a query id of her choosing, or async_insert without waiting,
// is confirmed like a native client.
func TestAttack23HonestInsertsOverClickHouseHTTP(t *testing.T) {
	h := newIdentityHarness(t)
	for _, params := range []string{"query_id=alice-curl-1", "async_insert=1&wait_for_async_insert=0&async_insert_busy_timeout_max_ms=200"} {
		id := uuid.NewString()
		v, _ := url.ParseQuery(params)
		v.Set("query", "INSERT INTO clickvault.requests (id, action, database) FORMAT Values")
		req, err := http.NewRequest(http.MethodPost, "http://"+h.bed.ClickHouse.HTTPAddr+"/?"+v.Encode(),
			strings.NewReader("('"+id+"', 'backup', 'shop')"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-ClickHouse-User", "alice")
		req.Header.Set("X-ClickHouse-Key", h.bed.ClickHouse.Password("alice"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("alice's INSERT over HTTP (%s): %d %s", params, resp.StatusCode, body)
		}
		if st := h.waitState(id, time.Minute, "rejected", "succeeded", "failed"); st.state != "succeeded" {
			t.Errorf("alice's request over ClickHouse's HTTP interface (%s): %+v; want succeeded", params, st)
		}
	}
}
