package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// roundDatabases are the databases of the round tests; the sidecar may
// back up all but roundRefused (deploy/grants.sql's BACKUP, given for each
// of the others only).
var roundDatabases = []string{"tenant_a", "tenant_b", "tenant_c", "tenant_d", "tenant_e"}

const roundRefused = "tenant_c"

// newRoundHarness creates the round's databases, one small table each.
func newRoundHarness(t *testing.T) *harness {
	var grants []string
	for _, db := range roundDatabases {
		if db != roundRefused {
			grants = append(grants, "BACKUP ON "+db+".*")
		}
	}
	h := newHarnessWith(t, sidecarUsersWith(map[string][]string{sidecarUser: grants}))
	for _, db := range roundDatabases {
		h.exec("CREATE DATABASE " + db)
		h.exec("CREATE TABLE " + db + ".events (id UInt64) ENGINE = MergeTree ORDER BY id")
		h.exec("INSERT INTO " + db + ".events SELECT number FROM numbers(1000)")
	}
	return h
}

// roundConfig is the harness config backing up every round database,
// parallel at once, with extra TOML appended.
func (h *harness) roundConfig(parallel int, extra string) string {
	body := strings.Replace(h.readConfig(), `database = "shop"`,
		`databases = ["`+strings.Join(roundDatabases, `", "`)+`"]`, 1)
	path := h.config + ".round"
	h.writeFile(path, body+fmt.Sprintf("\n[backup]\nparallel_databases = %d\n%s", parallel, extra))
	return path
}

// TestBackupRoundGoesOnPastARefusedDatabase: `clickvault backup` of five
// databases, two at a time, where ClickHouse refuses the sidecar's BACKUP
// of one: every other database's backup completes, the exit code is 1,
// and the output names the refused database with ClickHouse's code.
func TestBackupRoundGoesOnPastARefusedDatabase(t *testing.T) {
	h := newRoundHarness(t)
	config := h.roundConfig(2, "")
	r := h.run(config, "backup")
	t.Logf("clickvault backup exited %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	if r.code != exitFailure {
		t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, exitFailure, r.stdout, r.stderr)
	}
	completed := h.completedBackups(config)
	for _, db := range roundDatabases {
		if db == roundRefused {
			continue
		}
		if !strings.Contains(r.stdout, db+" full backup ") || completed[db] != 1 {
			t.Errorf("%s: no completed backup (stdout %q, %d completed in S3)", db, r.stdout, completed[db])
		}
	}
	if completed[roundRefused] != 0 {
		t.Errorf("%s has a completed backup, which ClickHouse refused", roundRefused)
	}
	// The answer names it, with ClickHouse's code, on stdout and in the error.
	wantOut := roundRefused + " backup failed: "
	if !strings.Contains(r.stdout, wantOut) || !strings.Contains(r.stdout, "ACCESS_DENIED") {
		t.Errorf("stdout does not say %q with ClickHouse's ACCESS_DENIED:\n%s", wantOut, r.stdout)
	}
	wantErr := "backup failed for 1 of 5 databases:\n  " + roundRefused + ": "
	if !strings.Contains(r.stderr, wantErr) || strings.Count(r.stderr, "ACCESS_DENIED") == 0 {
		t.Errorf("stderr does not name %s with its reason (%q):\n%s", roundRefused, wantErr, r.stderr)
	}
}

// completedBackups counts the completed backups `list --json` shows of
// each database config names.
func (h *harness) completedBackups(config string) map[string]int {
	h.t.Helper()
	r := h.run(config, "list", "--json")
	var dbs []listedDatabase
	if err := json.Unmarshal([]byte(r.stdout), &dbs); err != nil {
		h.t.Fatalf("list --json is not JSON (%v): %s %s", err, r.stdout, r.stderr)
	}
	n := map[string]int{}
	for _, db := range dbs {
		for _, c := range db.Chains {
			for _, b := range c.Backups {
				if b.Status == "completed" {
					n[db.Database]++
				}
			}
		}
	}
	return n
}

// TestScheduleRoundGoesOnPastARefusedDatabase: `serve` backs up five
// databases on its schedule, two at a time; the one whose BACKUP the
// sidecar may not run is answered with the reason, and every other
// database's backup is completed in clickvault.backups.
func TestScheduleRoundGoesOnPastARefusedDatabase(t *testing.T) {
	h := newRoundHarness(t)
	addr := freeAddr(t)
	h.startSidecar(h.roundConfig(2, fmt.Sprintf("[schedule]\nincremental_every = \"1h\"\ncheck_every = \"\"\n[sidecar]\nlisten = %q\n", addr)), addr)
	others := len(roundDatabases) - 1
	completed := "SELECT count() FROM clickvault.backups FINAL WHERE status = 'completed' AND database IN ('" +
		strings.Join(roundDatabases, "', '") + "')"
	refused := "SELECT count() FROM clickvault.request_status WHERE action = 'backup' AND database = '" + roundRefused +
		"' AND state IN ('failed', 'rejected')"
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) && (h.count(completed) < uint64(others) || h.count(refused) < 1) {
		time.Sleep(200 * time.Millisecond)
	}
	if n := h.count(completed); n != uint64(others) {
		t.Fatalf("%d databases have a completed backup in clickvault.backups, want %d", n, others)
	}
	if h.count(refused) != 1 {
		t.Fatalf("the scheduled backup of %s was not answered failed or rejected", roundRefused)
	}
	msg := h.firstID("SELECT message FROM clickvault.request_status WHERE action = 'backup' AND database = '" + roundRefused + "'")
	t.Logf("the answer for %s: %s", roundRefused, msg)
	if !strings.Contains(msg, "BACKUP") {
		t.Fatalf("the answer for %s does not say which right is missing: %q", roundRefused, msg)
	}
	if n := h.count("SELECT count() FROM clickvault.backups FINAL WHERE status = 'completed' AND database = '" + roundRefused + "'"); n != 0 {
		t.Fatalf("%s has a completed backup, which the sidecar may not take", roundRefused)
	}
}
