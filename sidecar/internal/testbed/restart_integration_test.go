package testbed_test

import (
	"testing"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestEngineKillAndRestart: fault tests kill "ClickHouse" like a crash and
// start it again on the same address, with its data and working query logs.
func TestEngineKillAndRestart(t *testing.T) {
	bed := testbed.New(t, testbed.Options{})
	ctx := testContext(t)
	c := dial(t, ctx, bed)
	exec(t, ctx, c, "CREATE TABLE default.kept (n UInt64) ENGINE = MergeTree ORDER BY n")
	exec(t, ctx, c, "INSERT INTO default.kept SELECT number FROM numbers(10)")
	exec(t, ctx, c, "SYSTEM FLUSH LOGS query_log, query_views_log") // the logs' tables made
	addr := bed.ClickHouse.Addr

	bed.ClickHouse.Kill()
	if bed.ClickHouse.Running() {
		t.Fatal("engine still running after Kill")
	}
	if err := c.Ping(ctx); err == nil {
		t.Fatal("ping to a killed engine succeeded")
	}
	if err := bed.ClickHouse.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if bed.ClickHouse.Addr != addr {
		t.Fatalf("restarted on %s, want %s", bed.ClickHouse.Addr, addr)
	}
	c2 := dial(t, ctx, bed)
	if got := queryUInt64(t, ctx, c2, "SELECT count() FROM default.kept"); got != 10 {
		t.Fatalf("after restart: %d rows, want 10", got)
	}
	// Its query log works again, as a restarted server's does.
	exec(t, ctx, c2, "SELECT 'after the restart' FORMAT Null")
	exec(t, ctx, c2, "SYSTEM FLUSH LOGS query_log, query_views_log")
	if got := queryUInt64(t, ctx, c2, "SELECT count() FROM system.query_log WHERE query LIKE 'SELECT ''after the restart''%'"); got == 0 {
		t.Fatal("after restart: the query log holds no query")
	}
}
