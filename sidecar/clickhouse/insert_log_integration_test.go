package clickhouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/clickhouse"
	"github.com/clickvault/clickvault/sidecar/internal/controltest"
	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestInsertFactsWhenALogNeverFlushes: a look at the query logs is not
// held by a flush the server never finishes. The test bed's engine,
// restarted with its logs as it leaves them, is such a server: it never
// finishes a flush of query_views_log (it waits 180 s, and a look that
// waited for it confirmed nothing for minutes). That log is flushed only
// for queries that fired views, and no flush holds a look longer than a
// few seconds.
func TestInsertFactsWhenALogNeverFlushes(t *testing.T) {
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
	admin, err := bed.ClickHouse.Dial(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	run(t, ctx, admin, "SYSTEM FLUSH LOGS query_log, query_views_log") // their tables made
	_ = admin.Close()
	if err := bed.ClickHouse.RestartWithBrokenLogs(ctx); err != nil {
		t.Fatal(err)
	}
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
	_, err = plane.InsertFacts(look, []string{queryID}, since)
	if look.Err() != nil {
		t.Fatalf("a look at the query logs waited %s for a flush the server never finishes: %v", time.Since(since).Round(time.Second), err)
	}
	t.Logf("the look ended after %s: %v", time.Since(since).Round(time.Millisecond), err)
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
