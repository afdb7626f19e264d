//go:build bench

package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
)

// TestBenchSystemBackupsReadCost: how long one read of one operation's
// row of system.backups takes as the operations the server ran since it
// started grow. ClickHouse keeps every BACKUP and RESTORE in memory and
// fills a row for each, with its profile events, on every read (no filter
// reaches StorageSystemBackups), so a sidecar reads it as little as it can
// (docs/benchmarks.md, "What system.backups costs").
func TestBenchSystemBackupsReadCost(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.exec("CREATE DATABASE p")
	h.exec("CREATE TABLE p.e (id UInt64) ENGINE = MergeTree ORDER BY id")
	h.exec("INSERT INTO p.e SELECT number FROM numbers(1000)")
	m := h.bed.MinIO
	const reads = 20
	done := 0
	for _, ops := range []int{10, 200, 500, 1000, 2000} {
		for ; done < ops; done++ {
			q := fmt.Sprintf("BACKUP DATABASE p TO S3('%s', '%s', '%s')", m.URL(fmt.Sprintf("ops/%d/", done)), m.AccessKey, m.SecretKey)
			if err := h.ch.Do(h.ctx, ch.Query{Body: q, Result: discardResult(), OnResult: ignoreBlocks}); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		for range reads {
			h.textAs(h.ch, "SELECT toString(count()) FROM system.backups WHERE id = 'none'")
		}
		report(t, "system-backups/read", "%d operations since the server started: %.1f ms a read of one operation's row",
			done, float64(time.Since(start).Microseconds())/reads/1000)
	}
}
