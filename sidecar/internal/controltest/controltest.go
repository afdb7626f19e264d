// Package controltest is the one contract suite every control.ControlPlane
// runs: the SQL control plane (clickhouse.ControlPlane) on the test bed's
// ClickHouse and the in-memory plane of the unit tests (memcontrol) must
// answer alike, so a unit test on the fake means what it would on the
// server. When they differ, the fake is brought in line, never the suite.
package controltest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/control"
)

// Plane is a control plane under test, with the one thing the suite cannot
// do through control.ControlPlane: insert rows as a requester's login.
type Plane interface {
	control.ControlPlane
	// InsertAs inserts rs as login inserts them (one INSERT for rows of the
	// same columns): requested_by is login, query_id the INSERT's own. An
	// empty ID gets a new UUID; the ids are returned in order. A non-zero
	// RequestedAt backdates the row (on the server the harness lifts the
	// constraint that holds it within seconds of now: the suite tests what
	// readers make of rows, not the guard on inserts).
	InsertAs(ctx context.Context, login string, rs ...control.Request) ([]string, error)
}

// OwnUser is the sidecar's login in the suite: InsertRequest inserts as it.
const OwnUser = "clickvault"

// ProofKey is the key the plane under test signs its own rows with.
var ProofKey = control.ProofKey("controltest-sidecar-password")

// Logins are the requesters the suite inserts as: the server's harness
// must let each insert into the control database's requests table.
var Logins = []string{"alice", "bob", "mallory", "r1", "r2", "r3", "r4"}

// Contract runs the suite. open returns an empty, initialised control plane
// for each subtest, whose own user is OwnUser and whose key is ProofKey.
func Contract(t *testing.T, open func(t *testing.T) Plane) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, p Plane)
	}{
		{"Empty", testEmpty},
		{"PendingFields", testPendingFields},
		{"PendingDefaults", testPendingDefaults},
		{"PendingCut", testPendingCut},
		{"FirstRowPerID", testFirstRowPerID},
		{"Since", testSince},
		{"PendingLatest", testPendingLatest},
		{"PendingBounds", testPendingBounds},
		{"ReadPlaces", testReadPlaces},
		{"ReadBounds", testReadBounds},
		{"ReadReusedID", testReadReusedID},
		{"StatusTerminalWins", testStatusTerminalWins},
		{"StatusPending", testStatusPending},
		{"ActiveRequests", testActiveRequests},
		{"ActiveRequestsOldestFirst", testActiveRequestsOldestFirst},
		{"AppendLogRefusesBadID", testAppendLogRefusesBadID},
		{"InsertRequestSigned", testInsertRequestSigned},
		{"InsertFacts", testInsertFacts},
		{"Catalog", testCatalog},
		{"CatalogNewestWins", testCatalogNewestWins},
		{"AtOnce", testAtOnce},
		{"Sets", testSets},
		{"ExpireDeleted", testExpireDeleted},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, open(t)) })
	}
}

// ctxOf bounds a subtest's calls.
func ctxOf(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func insertAs(t *testing.T, p Plane, login string, rs ...control.Request) []string {
	t.Helper()
	ids, err := p.InsertAs(ctxOf(t), login, rs...)
	if err != nil {
		t.Fatalf("insert %d rows as %s: %v", len(rs), login, err)
	}
	return ids
}

func pending(t *testing.T, p Plane, since time.Time) []control.PendingRequest {
	t.Helper()
	out, err := p.PendingRequests(ctxOf(t), since)
	if err != nil {
		t.Fatalf("pending requests: %v", err)
	}
	return out
}

func status(t *testing.T, p Plane, id string) control.RequestStatus {
	t.Helper()
	st, err := p.Status(ctxOf(t), id)
	if err != nil {
		t.Fatalf("status of %s: %v", id, err)
	}
	return st
}

func appendLog(t *testing.T, p Plane, entries ...control.LogEntry) {
	t.Helper()
	if err := p.AppendLog(ctxOf(t), entries...); err != nil {
		t.Fatalf("append to request_log: %v", err)
	}
}

// byID finds a request in a pending read.
func byID(rs []control.PendingRequest, id string) (control.PendingRequest, bool) {
	i := slices.IndexFunc(rs, func(r control.PendingRequest) bool { return r.ID == id })
	if i < 0 {
		return control.PendingRequest{}, false
	}
	return rs[i], true
}

// ids lists the ids of a pending read, in order.
func ids(rs []control.PendingRequest) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// longAgo is a since that takes in every row of a subtest.
func longAgo() time.Time { return time.Now().Add(-72 * time.Hour) }

// testEmpty: a new control plane has no request and no backup; Init runs
// again without harm; an unknown or malformed id is ErrNotFound.
func testEmpty(t *testing.T, p Plane) {
	ctx := ctxOf(t)
	if err := p.Init(ctx); err != nil {
		t.Fatalf("Init a second time: %v", err)
	}
	if n, err := p.RequestCount(ctx); err != nil || n != 0 {
		t.Fatalf("RequestCount: %d, %v; want 0", n, err)
	}
	if rs := pending(t, p, longAgo()); len(rs) != 0 {
		t.Fatalf("pending: %+v; want none", rs)
	}
	if rs, err := p.ActiveRequests(ctx, 10); err != nil || len(rs) != 0 {
		t.Fatalf("ActiveRequests: %+v, %v; want none", rs, err)
	}
	for _, id := range []string{"0f8fad5b-d9cb-469f-a165-70867728950e", "not-a-uuid"} {
		if _, err := p.Status(ctx, id); !errors.Is(err, sidecar.ErrNotFound) {
			t.Errorf("Status(%q): %v; want ErrNotFound", id, err)
		}
	}
	if rows, err := p.CatalogRows(ctx, "shop"); err != nil || len(rows) != 0 {
		t.Fatalf("CatalogRows: %+v, %v; want none", rows, err)
	}
}
