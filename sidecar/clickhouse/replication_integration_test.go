package clickhouse_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/clickhouse"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestReplicationOnTheServer: as the sidecar's own login (grants.sql),
// system.replicas of a database without replicated tables reads empty,
// its tables read with their engines, and a SYNC REPLICA planned with its
// receive_timeout reaches the server with it: this engine build has no
// ReplicatedMergeTree, so on a MergeTree table the server's own refusal
// ("not replicated") comes back, code and first line, not a stack trace.
// That it waits out a real replication queue is reasoned only.
func TestReplicationOnTheServer(t *testing.T) {
	bed := testbed.New(t, testbed.Options{Users: map[string]string{testbed.Admin: "admin-pass"}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	admin := &serverAdmin{t: t, ctx: ctx}
	c, err := bed.ClickHouse.Dial(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	admin.admin = c
	admin.exec("CREATE DATABASE shop", "CREATE TABLE shop.orders (id UInt64) ENGINE = MergeTree ORDER BY id")
	db, err := clickhouse.Open(ctx, clickhouse.Config{Addr: bed.ClickHouse.Addr, User: "clickvault", Password: bed.ClickHouse.Password("clickvault")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := db.Replication()
	rows, err := r.Replicas(ctx, "shop")
	if err != nil || len(rows) != 0 {
		t.Errorf("system.replicas of shop: %v, %v; want none", rows, err)
	}
	tables, err := r.Tables(ctx, "shop")
	if err != nil || len(tables) != 1 || tables[0] != (setmodel.TableRow{Database: "shop", Name: "orders", Engine: "MergeTree"}) {
		t.Errorf("tables of shop: %v, %v", tables, err)
	}
	stmt := setmodel.SyncReplica("shop", []setmodel.TableRow{{Database: "shop", Name: "orders", Engine: "ReplicatedMergeTree"}}, 5*time.Second)
	err = r.Sync(ctx, stmt[0])
	if err == nil || !strings.Contains(err.Error(), "not replicated") || strings.Contains(err.Error(), "Stack trace") {
		t.Errorf("SYNC REPLICA of a MergeTree table: %v, want the server's refusal", err)
	}
}
