package testbed_test

import (
	"fmt"
	"testing"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestQueriesDuringAsyncBackup: while a BACKUP … ASYNC runs, other
// statements (from any connection) keep working, as on a server.
func TestQueriesDuringAsyncBackup(t *testing.T) {
	bed := testbed.New(t, testbed.Options{})
	ctx := testContext(t)
	c := dial(t, ctx, bed)
	exec(t, ctx, c, "CREATE DATABASE big")
	exec(t, ctx, c, "CREATE TABLE big.t (a UInt64, s String) ENGINE = MergeTree ORDER BY a")
	exec(t, ctx, c, "INSERT INTO big.t SELECT number, toString(number) FROM numbers(3000000)")
	id := uuid.NewString()
	exec(t, ctx, c, fmt.Sprintf("BACKUP DATABASE big TO %s SETTINGS id = '%s' ASYNC", s3Func(bed, "big/"), id))
	// A block INSERT right after the BACKUP: libchdb's streaming-insert API
	// failed here, and broke the session for every later statement.
	exec(t, ctx, c, "CREATE TABLE big.log (n UInt64) ENGINE = MergeTree ORDER BY n")
	var n proto.ColUInt64
	n.Append(7)
	if err := c.Do(ctx, ch.Query{Body: "INSERT INTO big.log (n) VALUES", Input: proto.Input{{Name: "n", Data: &n}}}); err != nil {
		t.Fatalf("block insert during the backup: %v", err)
	}
	other := dial(t, ctx, bed)
	sawRunning := false
	for i := 0; i < 200; i++ {
		for _, client := range []*ch.Client{c, other} {
			var status proto.ColStr
			err := client.Do(ctx, ch.Query{Body: "SELECT toString(status) FROM system.backups WHERE id = {id:String}",
				Parameters: []proto.Parameter{param("id", id)}, Result: proto.ResultColumn{Data: &status}})
			if err != nil {
				t.Fatalf("query %d during the backup: %v", i, err)
			}
			if status.Rows() == 1 && status.Row(0) == "CREATING_BACKUP" {
				sawRunning = true
			}
			// A statement with a subquery and a JOIN, like the control views.
			q := "SELECT count() FROM (SELECT number AS n FROM numbers(10)) AS a LEFT JOIN (SELECT number AS n, max(number) AS m FROM numbers(5) GROUP BY n) AS b ON a.n = b.n"
			if got := queryUInt64(t, ctx, client, q); got != 10 {
				t.Fatalf("join during the backup: %d", got)
			}
		}
	}
	waitStatus(t, ctx, c, id, "BACKUP_CREATED")
	if !sawRunning {
		t.Log("the backup finished before a query saw it running; the test proved less than it could")
	}
}
