package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestBackupRoundOnAServerRefusingConcurrentBackups: on a server with
// backups.allow_concurrent_backups = false, `clickvault backup` of many
// small databases at parallel_databases 1 completes every one. Each
// backup's turn is given back at its .backup object, while ClickHouse
// still closes it; a BACKUP the server refuses in that moment is sent
// again once the other ended, so no database fails for it.
func TestBackupRoundOnAServerRefusingConcurrentBackups(t *testing.T) {
	h, dbs, body := smallDatabases(t, "serial_%02d", 24, func(o *testbed.Options) { o.SerialBackups = true })
	for round, parallel := range []int{1, 4} {
		config := fmt.Sprintf("%s.serial%d", h.config, parallel)
		h.writeFile(config, fmt.Sprintf("%s\n[backup]\nparallel_databases = %d\n", body, parallel))
		r := h.run(config, "backup", "--full")
		refused := h.count("SELECT count() FROM system.backups WHERE error LIKE '%CONCURRENT_ACCESS_NOT_SUPPORTED%'")
		t.Logf("parallel_databases %d: ClickHouse has refused %d BACKUPs as concurrent; clickvault backup exited %d\n"+
			"stdout:\n%s\nstderr:\n%s", parallel, refused, r.code, r.stdout, r.stderr)
		if r.code != 0 {
			t.Fatalf("parallel_databases %d: exit code %d, want 0: every database backed up", parallel, r.code)
		}
		completed := h.completedBackups(config)
		for _, db := range dbs {
			if completed[db] != round+1 {
				t.Errorf("parallel_databases %d: %s has %d completed backups, want %d", parallel, db, completed[db], round+1)
			}
		}
	}
}

// smallDatabases starts a test bed shaped by shape, with n databases named
// by pattern (one 1,000-row table each) the sidecar may back up, and
// returns it, their names and the sidecar's configuration backing up all
// of them.
func smallDatabases(t *testing.T, pattern string, n int, shape func(*testbed.Options)) (*harness, []string, string) {
	t.Helper()
	dbs := make([]string, n)
	var grants []string
	for i := range dbs {
		dbs[i] = fmt.Sprintf(pattern, i)
		grants = append(grants, "BACKUP ON "+dbs[i]+".*")
	}
	opts := sidecarUsersWith(map[string][]string{sidecarUser: grants})
	shape(&opts)
	h := newHarnessWith(t, opts)
	for _, db := range dbs {
		h.exec("CREATE DATABASE " + db)
		h.exec("CREATE TABLE " + db + ".events (id UInt64) ENGINE = MergeTree ORDER BY id")
		h.exec("INSERT INTO " + db + ".events SELECT number FROM numbers(1000)")
	}
	return h, dbs, strings.Replace(h.readConfig(), `database = "shop"`, `databases = ["`+strings.Join(dbs, `", "`)+`"]`, 1)
}
