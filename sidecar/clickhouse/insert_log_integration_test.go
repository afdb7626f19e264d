package clickhouse_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/clickhouse"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/internal/controltest"
	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestInsertFactsWhenTheViewsLogNeverFlushes: a look at the query logs is
// not held by a flush the server never finishes, and a query that fired
// views is judged only on a views log that holds their rows. The test
// bed's engine restarted with its old query_views_log cannot make that
// log's table: a flush of the log while nothing was queued for it never
// finishes (180 s; a look that waited for it, as every look did, confirmed
// nothing for minutes), and one after a view fired returns at once having
// written nothing.
func TestInsertFactsWhenTheViewsLogNeverFlushes(t *testing.T) {
	users := map[string]string{testbed.Admin: "admin-pass", "alice": "alice-pass"}
	bed := testbed.New(t, testbed.Options{Users: users, Grants: map[string][]string{"alice": {"INSERT ON clickvault.requests"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	db, err := clickhouse.Open(ctx, clickhouse.Config{Addr: bed.ClickHouse.Addr, User: controltest.OwnUser,
		Password: bed.ClickHouse.Password(controltest.OwnUser)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	plane, err := clickhouse.NewControlPlane(db, "clickvault")
	if err != nil {
		t.Fatal(err)
	}
	if err := plane.Init(ctx); err != nil {
		t.Fatalf("init the control database: %v", err)
	}
	run(t, ctx, dialAdmin(t, ctx, bed), "SYSTEM FLUSH LOGS query_log, query_views_log") // their tables made
	if err := bed.ClickHouse.RestartWithBrokenLog(ctx, "query_views_log"); err != nil {
		t.Fatal(err)
	}

	// A plain INSERT fires no view: the query log alone judges it.
	facts, queryID, took := alicesFacts(t, ctx, bed, plane)
	if l, ok := facts[queryID].ByLogin["alice"]; !ok || !l.WroteRequests || len(l.ViewsFired) > 0 {
		t.Fatalf("the facts of alice's plain INSERT, read beside a views log that never flushes: %+v", facts)
	}
	t.Logf("a look beside a views log that never flushes took %s", took)

	// An INSERT that fires a view (one that only reads requests) is not
	// given as judged on a views log without its rows: its facts say it
	// waits for that log, or that the log holds none (both refuse it).
	admin := dialAdmin(t, ctx, bed)
	run(t, ctx, admin, "CREATE TABLE default.audit (id String) ENGINE = MergeTree ORDER BY id")
	run(t, ctx, admin, "CREATE MATERIALIZED VIEW default.audit_requests TO default.audit DEFINER = CURRENT_USER SQL SECURITY DEFINER AS SELECT id FROM clickvault.requests")
	facts, queryID, _ = alicesFacts(t, ctx, bed, plane)
	if f := facts[queryID]; !f.ViewsUnflushed && f.ViewsLogged && f.ViewRows > 0 {
		t.Fatalf("alice's INSERT fired a view the views log has no row of, yet its facts say it has: %+v", f)
	} else if !slices.Contains(f.ViewsOnRequests, "default.audit_requests") {
		t.Fatalf("the facts of alice's INSERT should name the views on requests, default.audit_requests among them: %+v", f)
	}

	// On a server whose logs flush, the same INSERT's facts name the view
	// and its rows.
	if err := bed.ClickHouse.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	facts, queryID, _ = alicesFacts(t, ctx, bed, plane)
	f := facts[queryID]
	if l := f.ByLogin["alice"]; len(l.ViewsFired) == 0 || f.ViewRows == 0 || len(f.ViewsIntoRequests) > 0 || !f.ViewsLogged || f.ViewsUnflushed ||
		!slices.Equal(f.ViewsOnRequests, []string{"default.audit_requests"}) {
		t.Fatalf("on a server whose logs flush, the facts of alice's INSERT should name the view it fired and its log rows: %+v", f)
	}
}

func dialAdmin(t *testing.T, ctx context.Context, bed *testbed.Bed) *ch.Client {
	t.Helper()
	admin, err := bed.ClickHouse.Dial(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	return admin
}

// alicesFacts inserts a request as alice and reads its INSERT's facts, in a
// look that must end within 30 s.
func alicesFacts(t *testing.T, ctx context.Context, bed *testbed.Bed, plane *clickhouse.ControlPlane) (map[string]control.InsertFacts, string, time.Duration) {
	t.Helper()
	awaitPlane(t, ctx, plane) // the pool's connections died with the server
	alice, err := bed.ClickHouse.Dial(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = alice.Close() }()
	queryID, since := uuid.NewString(), time.Now()
	insert := "INSERT INTO clickvault.requests (id, action, database) VALUES ('" + uuid.NewString() + "', 'backup', 'shop')"
	if err := alice.Do(ctx, ch.Query{Body: insert, QueryID: queryID}); err != nil {
		t.Fatalf("insert a request as alice: %v", err)
	}
	look, cancelLook := context.WithTimeout(ctx, 30*time.Second)
	defer cancelLook()
	facts, err := plane.InsertFacts(look, []string{queryID}, since)
	if err != nil {
		t.Fatalf("read the facts of alice's INSERT: %v (after %s)", err, time.Since(since).Round(time.Millisecond))
	}
	return facts, queryID, time.Since(since)
}

// awaitPlane waits until the control plane's queries get through again.
func awaitPlane(t *testing.T, ctx context.Context, plane *clickhouse.ControlPlane) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := plane.RequestCount(ctx)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the control plane does not answer after the engine restarted: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
