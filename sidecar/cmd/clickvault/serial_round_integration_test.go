package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestBackupRoundOnAServerRefusingConcurrentBackups: on a server with
// backups.allow_concurrent_backups = false, `clickvault backup` of many
// small databases at parallel_databases 1 completes every one. Each
// backup's turn is given back at its .backup object, while ClickHouse
// still closes it; a BACKUP the server refuses in that moment is sent
// again once the other ended, so no database fails for it.
func TestBackupRoundOnAServerRefusingConcurrentBackups(t *testing.T) {
	const n = 24
	dbs := make([]string, n)
	var grants []string
	for i := range dbs {
		dbs[i] = fmt.Sprintf("serial_%02d", i)
		grants = append(grants, "BACKUP ON "+dbs[i]+".*")
	}
	opts := sidecarUsersWith(map[string][]string{sidecarUser: grants})
	opts.SerialBackups = true
	h := newHarnessWith(t, opts)
	for _, db := range dbs {
		h.exec("CREATE DATABASE " + db)
		h.exec("CREATE TABLE " + db + ".events (id UInt64) ENGINE = MergeTree ORDER BY id")
		h.exec("INSERT INTO " + db + ".events SELECT number FROM numbers(1000)")
	}
	body := strings.Replace(h.readConfig(), `database = "shop"`, `databases = ["`+strings.Join(dbs, `", "`)+`"]`, 1)
	config := h.config + ".serial"
	h.writeFile(config, body+"\n[backup]\nparallel_databases = 1\n")

	r := h.run(config, "backup")
	refused := h.count("SELECT count() FROM system.backups WHERE error LIKE '%CONCURRENT_ACCESS_NOT_SUPPORTED%'")
	t.Logf("ClickHouse refused %d BACKUPs as concurrent; clickvault backup exited %d\nstdout:\n%s\nstderr:\n%s",
		refused, r.code, r.stdout, r.stderr)
	if r.code != 0 {
		t.Fatalf("exit code %d, want 0: every database backed up", r.code)
	}
	completed := h.completedBackups(config)
	for _, db := range dbs {
		if completed[db] != 1 {
			t.Errorf("%s: %d completed backups, want 1", db, completed[db])
		}
	}
}
