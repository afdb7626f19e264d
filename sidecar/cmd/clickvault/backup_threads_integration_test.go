package main

import (
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestBackupRoundKeepsToClickHousesBackupThreads: on a server whose
// backup_threads is 2, `clickvault backup` at parallel_databases 8 says so
// and sends at most two BACKUPs at once, not eight that would wait in
// ClickHouse's queue with their leases held. A turn is given back at a
// backup's .backup object while ClickHouse may still close it, so up to
// two more may overlap by the server's clock: at most four in all.
func TestBackupRoundKeepsToClickHousesBackupThreads(t *testing.T) {
	const threads = 2
	h, _, body := smallDatabases(t, "threads_%d", 8, func(o *testbed.Options) { o.BackupThreads = threads })
	config := h.config + ".threads"
	h.writeFile(config, body+"\n[backup]\nparallel_databases = 8\n")
	r := h.run(config, "backup", "--full")
	if r.code != 0 {
		t.Fatalf("exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "above clickhouse's backup_threads") || !strings.Contains(r.stderr, "backup_threads=2") {
		t.Errorf("stderr does not say parallel_databases was lowered to backup_threads 2:\n%s", r.stderr)
	}
	// For each BACKUP, how many were in the server when it was sent
	// (itself included).
	most := h.count(`SELECT max(n) FROM (SELECT a.id, count() AS n
		FROM system.backups AS a, system.backups AS b
		WHERE a.status = 'BACKUP_CREATED' AND b.status = 'BACKUP_CREATED'
		  AND b.start_time <= a.start_time AND b.end_time > a.start_time GROUP BY a.id)`)
	t.Logf("at most %d BACKUPs in the server at once", most)
	if most > 2*threads {
		t.Errorf("%d BACKUPs were in the server at once, want at most %d (backup_threads %d, each turn's closing backup beside it)",
			most, 2*threads, threads)
	}
}
