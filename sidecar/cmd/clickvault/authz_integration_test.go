package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// oldRequestsTable is clickvault.requests as installations made it before
// the requester constraint: the sidecar's migration must add it.
const oldRequestsTable = `CREATE TABLE clickvault.requests (
	id UUID DEFAULT generateUUIDv4(), action LowCardinality(String) DEFAULT 'backup',
	database String DEFAULT '', kind LowCardinality(String) DEFAULT 'auto', backup String DEFAULT '',
	as_of Nullable(DateTime64(3)) DEFAULT NULL, target String DEFAULT '', dry_run Bool DEFAULT false,
	requested_by String MATERIALIZED currentUser(), requested_at DateTime64(3) MATERIALIZED now64(3))
	ENGINE = MergeTree ORDER BY (requested_at, id)`

// TestRequesterCannotBeForged: a user with only INSERT on requests cannot
// write someone else's name into requested_by, neither with
// insert_allow_materialized_columns = 1 nor through INSERT … SELECT, also on
// a control table made before the constraint existed; honest inserts pass
// and carry the inserter's login.
func TestRequesterCannotBeForged(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(10)
	h.exec("CREATE DATABASE clickvault")
	h.exec(oldRequestsTable)
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, ""), addr)
	mallory := h.as("mallory")
	forgeries := []string{
		"INSERT INTO clickvault.requests (action, database, requested_by) SETTINGS insert_allow_materialized_columns = 1 VALUES ('backup', 'shop', 'alice')",
		"INSERT INTO clickvault.requests (action, database, requested_by) SETTINGS insert_allow_materialized_columns = 1 SELECT 'backup', 'shop', 'clickvault'",
	}
	for _, q := range forgeries {
		err := mallory.Do(h.ctx, ch.Query{Body: q})
		if !ch.IsErr(err, proto.ErrViolatedConstraint) {
			t.Errorf("%s\nwant VIOLATED_CONSTRAINT (469), got %v", q, err)
		}
	}
	honest := h.request(mallory, "action, database", "'backup', 'shop'")
	st := h.waitState(honest, 30*time.Second, "rejected", "succeeded", "failed")
	if st.requestedBy != "mallory" {
		t.Errorf("honest insert: requested_by = %q, want mallory", st.requestedBy)
	}
	if n := h.count("SELECT count() FROM clickvault.requests WHERE requested_by != 'mallory'"); n != 0 {
		t.Fatalf("%d forged requests were stored", n)
	}
}

// TestFailureMessageIsTheHeadline: when ClickHouse fails a backup (here the
// sidecar's own user lacks BACKUP on the database, which its requester
// holds), the answer carries ClickHouse's code and first line, never its
// stack trace.
func TestFailureMessageIsTheHeadline(t *testing.T) {
	h := newHarnessWith(t, sidecarUsersWith(map[string][]string{"alice": {"BACKUP ON unlisted.*"}}))
	h.exec("CREATE DATABASE unlisted")
	h.exec("CREATE TABLE unlisted.t (a UInt8) ENGINE = MergeTree ORDER BY a")
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, ""), addr)
	id := h.request(h.as("alice"), "action, database", "'backup', 'unlisted'")
	st := h.waitState(id, time.Minute, "succeeded", "failed", "rejected")
	if st.state != "failed" || !strings.Contains(st.message, "ACCESS_DENIED") {
		t.Fatalf("got %s %q, want failed with ClickHouse's ACCESS_DENIED", st.state, st.message)
	}
	if strings.Contains(st.message, "Stack trace") || strings.Contains(st.message, "\n") {
		t.Fatalf("the message carries more than ClickHouse's first line: %q", st.message)
	}
}

// TestRequestersSeeTheirOwnRequests: a requester (analyst, of grants.sql's
// requester role) reads only their own requests in request_status, and
// cannot read the tables the sidecar writes at all (a materialized view
// on them is the power to stop everyone's requests); the sidecar still sees
// and answers everyone's.
func TestRequestersSeeTheirOwnRequests(t *testing.T) {
	h, _ := newSidecarHarness(t, 10, "")
	analyst := h.as("analyst")
	mine := h.request(analyst, "action, database", "'backup', 'shop'")
	theirs := h.request(h.as("alice"), "action, database", "'backup', 'shop'")
	for _, id := range []string{mine, theirs} {
		if st := h.waitState(id, time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" {
			t.Fatalf("request %s: %s %q", id, st.state, st.message)
		}
	}
	countAs := func(q string) (uint64, error) {
		var n proto.ColUInt64
		err := analyst.Do(h.ctx, ch.Query{Body: q, Result: proto.ResultColumn{Data: &n}})
		if err != nil {
			return 0, err
		}
		return n.Row(0), nil
	}
	if n, err := countAs("SELECT count() FROM clickvault.request_status WHERE id != '" + mine + "'"); err != nil || n != 0 {
		t.Errorf("analyst reads %d rows of other people's requests in request_status (%v)", n, err)
	}
	if n, err := countAs("SELECT count() FROM clickvault.request_status WHERE id = '" + mine + "' AND state = 'succeeded'"); err != nil || n != 1 {
		t.Errorf("analyst does not see their own answer (%d, %v)", n, err)
	}
	for _, table := range []string{"requests", "request_log", "backups"} {
		if _, err := countAs("SELECT count() FROM clickvault." + table); !ch.IsErr(err, proto.ErrAccessDenied) {
			t.Errorf("analyst reading clickvault.%s: %v; want ACCESS_DENIED", table, err)
		}
	}
	for _, view := range []string{"chains", "catalog"} {
		if n, err := countAs("SELECT count() FROM clickvault." + view); err != nil || n == 0 {
			t.Errorf("analyst reads %d rows of %s (%v); want the catalog", n, view, err)
		}
	}
}
