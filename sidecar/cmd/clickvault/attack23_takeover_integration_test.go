package main

import (
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// ownStatusOnly gives requesters grants.sql's row policy on request_status
// (the test bed gives it only to members of clickvault_requester; alice
// and mallory get the role's grants directly, so they would see every row).
func ownStatusOnly(users ...string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, u := range users {
		out[u] = map[string]string{"clickvault.request_status": "requested_by = authenticatedUser()"}
	}
	return out
}

// newTakeoverHarness: backups of shop run for about ten seconds (100,000
// incompressible rows at 1 MB/s), so a second backup of shop waits queued;
// alice and mallory see only their own rows of request_status.
func newTakeoverHarness(t *testing.T) *harness {
	opts := sidecarUsers
	opts.Settings = map[string]string{"max_backup_bandwidth": "1000000"}
	opts.RowPolicies = ownStatusOnly("alice", "mallory")
	h := newHarnessWith(t, opts)
	h.exec("CREATE DATABASE shop")
	h.exec("CREATE TABLE shop.orders (id UInt64, item String) ENGINE = MergeTree ORDER BY id")
	h.exec("INSERT INTO shop.orders SELECT number, randomPrintableASCII(100) FROM numbers(100000)")
	return h
}

// seenBy reads request_status for id as c: who it names and its state
// ("" when c sees no row).
func (h *harness) seenBy(c *ch.Client, id string) (by, state string) {
	h.t.Helper()
	var b, s proto.ColStr
	err := c.Do(h.ctx, ch.Query{Body: "SELECT requested_by, state FROM clickvault.request_status WHERE id = {id:UUID}",
		Parameters: []proto.Parameter{{Key: "id", Value: "'" + id + "'"}},
		Result:     proto.Results{{Name: "requested_by", Data: &b}, {Name: "state", Data: &s}}})
	if err != nil {
		h.t.Fatalf("read request_status: %v", err)
	}
	if b.Rows() == 0 {
		return "", ""
	}
	return b.Row(0), s.Row(0)
}

// backdate inserts, as c, a row with id dated 4.5 s before now: the
// requested_at constraint allows it (insert_allow_materialized_columns).
func (h *harness) backdate(c *ch.Client, id, columns, values string) error {
	q := "INSERT INTO clickvault.requests (id, requested_at, " + columns + ") SETTINGS insert_allow_materialized_columns = 1 " +
		"SELECT '" + id + "', now64(3) - INTERVAL 4500 MILLISECOND, " + values
	return c.Do(h.ctx, ch.Query{Body: q})
}

// TestAttack23BackdatedRowTakesOverAQueuedRequest: "an id is one login's"
// is checked only while a request is pending. Once alice's request is
// queued (waiting for her running backup of shop), mallory, who may only
// insert requests, adds a row with its id dated 4.5 s earlier (within the
// requested_at constraint). request_status, and the cancel check that reads
// it, take the earliest row as the request: mallory then reads alice's
// request as her own, alice no longer sees it, and mallory's cancel stops it.
// The product resists if mallory's cancel is refused and alice's backup runs.
func TestAttack23BackdatedRowTakesOverAQueuedRequest(t *testing.T) {
	h := newTakeoverHarness(t)
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, ""), addr)
	alice, mallory := h.as("alice"), h.as("mallory")

	running := h.request(alice, "action, database", "'backup', 'shop'")
	h.waitState(running, 30*time.Second, "running")
	queued := h.request(alice, "action, database", "'backup', 'shop'")
	h.waitState(queued, 30*time.Second, "queued")
	if err := h.backdate(mallory, queued, "action, database", "'backup', 'shop'"); err != nil {
		t.Fatalf("mallory's backdated row: %v", err)
	}
	if by, state := h.seenBy(mallory, queued); by != "" {
		t.Errorf("DEFECT: mallory reads alice's request %s in request_status as requested_by %q, state %q", queued, by, state)
	}
	if by, _ := h.seenBy(alice, queued); by != "alice" {
		t.Errorf("DEFECT: alice no longer sees her own request %s (request_status names %q)", queued, by)
	}
	cancel := h.request(mallory, "action, backup", "'cancel', '"+queued+"'")
	st := h.waitState(cancel, 30*time.Second, "succeeded", "failed", "rejected")
	if st.state != "rejected" {
		t.Errorf("DEFECT: mallory's cancel of alice's request: %s %q; want rejected", st.state, st.message)
	}
	h.waitState(running, 2*time.Minute, "succeeded", "failed")
	final := h.waitState(queued, 2*time.Minute, "succeeded", "failed", "rejected", "cancelled")
	if final.state != "succeeded" {
		t.Errorf("DEFECT: alice's queued backup ended %s (%q), requested_by %q; want succeeded", final.state, final.message, final.requestedBy)
	}
}

// TestAttack23BackdatedRowRunsAfterARestart: the same backdated row, sent
// by mallory as a secondary query (a row the query log refutes), while
// alice's request waits queued. After the sidecar restarts, the pending
// read takes the earliest row of the id as the request, and a request
// with a log row is not confirmed again: mallory's unconfirmed row is
// what runs under alice's id (here a full backup mallory has no right to,
// so alice's request ends rejected naming mallory). The product resists
// if alice's queued backup still runs as hers.
func TestAttack23BackdatedRowRunsAfterARestart(t *testing.T) {
	h := newTakeoverHarness(t)
	addr := freeAddr(t)
	sc := h.startSidecar(h.sidecarConfig(addr, ""), addr)
	alice := h.as("alice")
	running := h.request(alice, "action, database", "'backup', 'shop'")
	h.waitState(running, 30*time.Second, "running")
	queued := h.request(alice, "action, database", "'backup', 'shop'")
	h.waitState(queued, 30*time.Second, "queued")

	sec, err := h.bed.ClickHouse.DialSecondary(h.ctx, "mallory", "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sec.Close() }()
	q := "INSERT INTO clickvault.requests (id, requested_at, action, database, kind) SETTINGS insert_allow_materialized_columns = 1 " +
		"SELECT '" + queued + "', now64(3) - INTERVAL 4500 MILLISECOND, 'backup', 'shop', 'full'"
	if err := sec.Do(h.ctx, ch.Query{Body: q}); err != nil {
		t.Fatalf("mallory's secondary, backdated row: %v", err)
	}
	sc.stop(t)
	h.startSidecar(sc.config, sc.addr)
	h.waitState(running, 2*time.Minute, "succeeded", "failed")
	final := h.waitState(queued, 2*time.Minute, "succeeded", "failed", "rejected", "cancelled")
	if final.state != "succeeded" || final.requestedBy != "alice" {
		t.Errorf("DEFECT: after a restart alice's queued backup ended %s (%q), requested_by %q; want succeeded as alice's",
			final.state, final.message, final.requestedBy)
	}
}
