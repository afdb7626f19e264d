package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// TestFailedBackupIsNeverABase: a backup that fails exits 1, is notified,
// writes no completed metadata, and the next backup builds on the last good
// one instead.
func TestFailedBackupIsNeverABase(t *testing.T) {
	h := newHarness(t)
	h.createShop(100)
	h.mustRun("backup")
	good := h.list()[0].Backups[0].Name

	// The database does not exist: refused before anything is written.
	r := h.run("", "backup", "--database", "nosuchdb")
	if r.code != 1 || !strings.Contains(r.stderr, "nosuchdb") || !strings.Contains(r.stderr, "does not exist") {
		t.Fatalf("missing database: want exit 1 naming it, got %d %q", r.code, r.stderr)
	}
	if keys := h.keys("cv/test/nosuchdb/"); len(keys) != 0 {
		t.Fatalf("a backup of a missing database wrote %v", keys)
	}

	// ClickHouse writes where S3 refuses it (a bucket that does not exist):
	// BACKUP_FAILED in ClickHouse, while ClickVault's own S3 works.
	refused := h.config + ".refused"
	endpoint := h.bed.MinIO.Endpoint + "/no-such-bucket"
	h.writeFile(refused, strings.Replace(h.readConfig(), "[s3]\n", "[s3]\nclickhouse_endpoint = \""+endpoint+"\"\n", 1))
	h.addRows(100, 10)
	r = h.run(refused, "backup")
	if r.code != 1 {
		t.Fatalf("backup that S3 refuses: want exit 1, got %d: %s", r.code, r.stderr)
	}
	failed := h.list()[0].Backups[1]
	if failed.Status != "failed" || failed.Error == "" {
		t.Fatalf("the failed backup is listed as %s (%q)", failed.Status, failed.Error)
	}
	if m := h.meta(model.KindIncremental, failed.Name); m.Completed() {
		t.Fatal("a failed backup has completed metadata")
	}
	if len(h.hook.received("backup_failed")) != 2 {
		t.Fatalf("want 2 backup_failed notifications, got %d", len(h.hook.received("backup_failed")))
	}

	// MinIO stopped: exit 1, notified, nothing half-written.
	h.bed.MinIO.Stop()
	r = h.run("", "backup")
	if r.code != 1 {
		t.Fatalf("backup with MinIO stopped: want exit 1, got %d", r.code)
	}
	if err := h.bed.MinIO.Start(h.ctx); err != nil {
		t.Fatal(err)
	}
	if len(h.hook.received("backup_failed")) != 3 {
		t.Fatalf("want 3 backup_failed notifications, got %d", len(h.hook.received("backup_failed")))
	}

	// The next backup builds on the good full, not on the failed one.
	h.mustRun("backup")
	chain := h.list()[0]
	next := chain.Backups[len(chain.Backups)-1]
	if next.Status != "completed" || next.Base != good || chain.Depth != 2 {
		t.Fatalf("next backup %s: status %s base %s depth %d; want base %s", next.Name, next.Status, next.Base, chain.Depth, good)
	}
	h.mustRun("restore", "--target", "after_failure")
	if got := h.count("SELECT count() FROM after_failure.orders"); got != 110 {
		t.Fatalf("restored %d rows, want 110", got)
	}
}

func (h *harness) readConfig() string {
	b, err := os.ReadFile(h.config)
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

func (h *harness) writeFile(path, body string) {
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// TestBadConfigExits2: a bad configuration exits 2 and names the key.
func TestBadConfigExits2(t *testing.T) {
	dir := t.TempDir()
	base := "[clickhouse]\naddr = \"127.0.0.1:9000\"\ndatabase = \"shop\"\n[s3]\nbucket = \"b\"\nsecret_key = \"bad-config-secret\"\n"
	cases := map[string]struct{ body, key string }{
		"unknown key": {base + "[retention]\nkeep_forever = true\n", "retention.keep_forever"},
		"keep zero":   {base + "[retention]\nkeep_full_backups = 0\n", "retention.keep_full_backups"},
		"seed-style url": {strings.Replace(base, `addr = "127.0.0.1:9000"`, `url = "http://localhost:8123"`, 1),
			"clickhouse.url"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".toml")
			if err := os.WriteFile(path, []byte(c.body), 0o600); err != nil {
				t.Fatal(err)
			}
			out, code := runBinary(t, "-c", path, "backup")
			if code != 2 || !strings.Contains(out, c.key) {
				t.Fatalf("want exit 2 naming %s, got %d: %s", c.key, code, out)
			}
			if strings.Contains(out, "bad-config-secret") {
				t.Fatal("the secret was printed")
			}
		})
	}
	if out, code := runBinary(t, "-c", filepath.Join(dir, "missing.toml"), "list"); code != 2 || !strings.Contains(out, "missing.toml") {
		t.Fatalf("missing config file: got %d: %s", code, out)
	}
}

// TestNoSecretInDebugLogs: at debug level, no line of any command carries
// the ClickHouse password, the S3 secret or the webhook token (the harness
// checks every output), nor does any metadata file.
func TestNoSecretInDebugLogs(t *testing.T) {
	h := newHarness(t)
	h.createShop(10)
	for _, args := range [][]string{{"backup"}, {"backup"}, {"list"}, {"list", "--json"}, {"status"},
		{"verify"}, {"cleanup", "--dry-run"}, {"cleanup"}, {"restore", "--target", "secrets_check"}} {
		r := h.mustRun(append([]string{"-l", "debug"}, args...)...)
		if args[0] == "backup" && !strings.Contains(r.stderr, "level=DEBUG") {
			t.Fatalf("no debug lines were logged: %s", r.stderr)
		}
	}
	r := h.run("", "-l", "debug", "restore", "--target", "secrets_check") // fails: not empty
	if r.code != 1 {
		t.Fatalf("want exit 1, got %d", r.code)
	}
	for _, key := range h.keys("cv/test/shop/") {
		if strings.HasSuffix(key, coord.MetaFile) {
			parts := strings.Split(key, "/")
			h.meta(model.Kind(parts[3]), parts[4]) // asserts no secret inside
		}
	}
}

func runBinary(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, err := execCombined(clickvaultBinary(t), args...)
	code := 0
	if err != nil {
		code = exitCodeOf(err)
	}
	return out, code
}
