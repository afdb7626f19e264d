package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// drTarget is copy target dr alone: the second MinIO at prefix cv/dr.
func drTarget(dr *testbed.MinIO) string {
	return fmt.Sprintf("\n[[copy]]\nname = \"dr\"\nendpoint = %q\nbucket = %q\nprefix = \"cv/dr\"\naccess_key = %q\nsecret_key = %q\n",
		dr.Endpoint, dr.Bucket, dr.AccessKey, dr.SecretKey)
}

// rewriteConfig writes a copy of the config at path with old replaced by
// new (once), and returns the copy's path.
func (h *harness) rewriteConfig(path, old, new string) string {
	h.t.Helper()
	body, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(body, []byte(old)) {
		h.t.Fatalf("config %s: %v, or no %q in it", path, err, old)
	}
	f, err := os.CreateTemp(h.t.TempDir(), "config-*.toml")
	if err != nil {
		h.t.Fatal(err)
	}
	out := f.Name()
	_ = f.Close()
	if err := os.WriteFile(out, bytes.Replace(body, []byte(old), []byte(new), 1), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// TestAttack26CopyTargetSharedByTwoDeployments: production (prefix
// cv/test, deployment prod-a) and staging (prefix cv/b, deployment prod-b)
// back up a database of the same name, each to its own primary prefix —
// which ClickVault keeps apart by the owner object — and both name the
// organisation's DR bucket as copy target dr (the copy-and-paste of one
// config to the other is the operator's whole mistake). A copy target is
// never probed nor claimed, so staging's backup lands in production's copy
// unchallenged, and production's `restore --from dr` (or its fallback, on
// the day its primary is gone) restores staging's data as its own newest
// backup, saying only "from copy target dr"; production's `cleanup --copy
// dr` would count and delete staging's chains too. The product resists if
// staging's copy is refused naming the other deployment, and production
// restores its own rows.
func TestAttack26CopyTargetSharedByTwoDeployments(t *testing.T) {
	h := newHarness(t)
	dr := h.bed.StartMinIO(t, "dr-copies")
	base := h.writeCopyConfig(drTarget(dr))
	prod := h.rewriteConfig(base, "prefix = \"cv/test\"", "prefix = \"cv/test\"\ndeployment = \"prod-a\"")
	staging := h.rewriteConfig(base, "prefix = \"cv/test\"", "prefix = \"cv/b\"\ndeployment = \"prod-b\"")
	h.createShop(1000)
	if r := h.run(prod, "backup"); r.code != 0 {
		t.Fatalf("production's backup: %d\n%s", r.code, r.stderr)
	}
	h.addRows(1000, 500) // staging's data differs
	if r := h.run(staging, "backup"); r.code != 0 {
		t.Fatalf("staging's backup: %d\n%s", r.code, r.stderr)
	}
	if r := h.run(staging, "copy"); r.code == 0 {
		t.Errorf("DEFECT: staging copied into production's copy target unchallenged:\n%s", r.stdout)
	}
	r := h.run(prod, "restore", "--from", "dr", "--target", "shop_prod")
	if r.code != 0 {
		t.Fatalf("production's restore from dr: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if got := h.count("SELECT count() FROM shop_prod.orders"); got != 1000 {
		t.Fatalf("DEFECT: production's restore from its copy target brought back %d rows, another deployment's backup; "+
			"its own has 1000. It said:\n%s", got, r.stdout)
	}
}

// TestAttack26PrimaryInDisguiseLosesBackupsToCopyCleanup: the operator's
// copy target dr is the primary's endpoint and bucket with prefix
// "./cv/test" — the primary's cv/test, since keys are joined with
// path.Join — and its [copy.retention] keeps 1 chain while [retention]
// keeps 3. The config loads; every backup is "already copied" (copies
// says dr holds each, though no second copy exists); and `cleanup --copy
// dr` deletes the primary's own older chain. The product resists if the
// primary still holds both chains (the target refused, at load or at run).
func TestAttack26PrimaryInDisguiseLosesBackupsToCopyCleanup(t *testing.T) {
	h := newHarness(t)
	h.config = h.writeCopyConfig("[retention]\nkeep_full_backups = 3\n" + `
[[copy]]
name = "dr"
endpoint = "{{primary}}"
bucket = "{{bucket}}"
prefix = "./cv/test"
access_key = "{{access}}"
secret_key = "{{secret}}"
[copy.retention]
keep_full_backups = 1
`)
	h.createShop(100)
	for i := 0; i < 2; i++ {
		h.addRows(1000*(i+1), 10)
		r := h.run("", "backup", "--kind", "full")
		switch {
		case r.code != 0 && strings.Contains(r.stderr, "copy.dr"):
			return // the target is refused at load, naming it: resisted
		case r.code != 0:
			t.Fatalf("backup: exit %d\n%s", r.code, r.stderr)
		}
	}
	if n := len(h.list()); n != 2 {
		t.Fatalf("the primary holds %d chains before any cleanup, want 2", n)
	}
	r := h.run("", "cleanup", "--copy", "dr")
	if n := len(h.list()); n != 2 {
		t.Fatalf("DEFECT: `cleanup --copy dr` left the primary %d chain(s) of 2; it said:\n%s\n%s", n, r.stdout, r.stderr)
	}
}

// TestAttack26CopyFoundBrokenIsNeverMended: an object of dr's copy is
// lost (a lifecycle rule, a hand, a bad disk). `check --copy dr` finds it.
// The primary still holds every byte, and the next `clickvault copy` mends
// the copy: it sends what the copy lacks (as for a copy killed part way),
// and dr checks good again. A copy whose metadata was there used to be
// "copied before" whatever it lacked.
func TestAttack26CopyFoundBrokenIsNeverMended(t *testing.T) {
	h := newHarness(t)
	dr := h.bed.StartMinIO(t, "dr-copies")
	h.config = h.writeCopyConfig(drTarget(dr))
	h.createShop(1000)
	h.mustRun("backup")
	victim := h.removeDataObjectIn(dr, "cv/dr/shop/full/")
	if r := h.run("", "check", "--copy", "dr"); r.code != 1 {
		t.Fatalf("check --copy dr with %s gone: exit %d, want 1\n%s", victim, r.code, r.stdout)
	}
	c := h.run("", "copy")
	if r := h.run("", "check", "--copy", "dr"); r.code != 0 {
		t.Fatalf("after `clickvault copy` (exit %d: %s) dr's copy still lacks %s, which the primary holds:\n%s",
			c.code, strings.TrimSpace(c.stdout), victim, r.stdout)
	}
}

// TestAttack26KilledRestoreFromACopyIsNeverSwept: `restore --from dr` is
// killed once its RESTORE is sent; ClickHouse finishes it. A restore from
// the primary killed so is undone by serve's sweep at start once its work
// record is stale (TestSweepUndoesKilledRestore). This one's record is in
// dr's bucket — the copy's engine keeps its work records where it reads —
// and the sweep reads the primary's alone, so the half-made database (or,
// for a verify from dr, the scratch copy of every row) stays for ever,
// and its record with it. The product resists if serve sweeps it.
func TestAttack26KilledRestoreFromACopyIsNeverSwept(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	dr := h.bed.StartMinIO(t, "dr-copies")
	addr := freeAddr(t)
	h.config = h.sidecarConfig(addr, h.fillPrimary(copyTargets(dr.Endpoint, dr)))
	h.createShop(1000)
	h.mustRun("backup")
	killed := h.startCLI([]string{envFaultPoint + "=restore-sent"}, "restore", "--from", "dr", "--target", "shop_restored")
	<-killed.exited
	for deadline := time.Now().Add(time.Minute); h.count("SELECT count() FROM system.backups WHERE status = 'RESTORING'") > 0; {
		if time.Now().After(deadline) {
			t.Fatal("the RESTORE did not end")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !h.databaseExists("shop_restored") {
		t.Fatalf("the RESTORE of the killed CLI created nothing:\n%s", killed.stderr)
	}
	ageWorkRecordIn(h, dr, "cv/dr", time.Hour)
	h.startSidecar(h.config, addr)
	for deadline := time.Now().Add(30 * time.Second); h.databaseExists("shop_restored"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("DEFECT: serve's sweep left shop_restored, which a killed restore from dr made: %v", h.tableNames("shop_restored"))
		}
	}
}

// ageWorkRecordIn makes the one work record under prefix of m look
// written age ago.
func ageWorkRecordIn(h *harness, m *testbed.MinIO, prefix string, age time.Duration) {
	h.t.Helper()
	keys, err := m.Keys(h.ctx, strings.TrimSuffix(coord.Layout{Prefix: prefix}.WorkKey("x"), "x.json"))
	if err != nil || len(keys) != 1 {
		h.t.Fatalf("work records in %s/%s: %v, %v; want one", m.Bucket, prefix, keys, err)
	}
	out, err := m.Client().GetObject(h.ctx, getInput(m.Bucket, keys[0]))
	if err != nil {
		h.t.Fatal(err)
	}
	data, err := io.ReadAll(out.Body)
	_ = out.Body.Close()
	var rec map[string]any
	if err == nil {
		err = json.Unmarshal(data, &rec)
	}
	if err != nil {
		h.t.Fatalf("read %s: %v", keys[0], err)
	}
	rec["heartbeat"] = time.Now().Add(-age).UTC().Format(time.RFC3339Nano)
	data, _ = json.Marshal(rec)
	if _, err := m.Client().PutObject(h.ctx, &s3.PutObjectInput{Bucket: &m.Bucket, Key: &keys[0], Body: bytes.NewReader(data)}); err != nil {
		h.t.Fatal(err)
	}
}

// TestAttack26NotificationsSayWhichRepositoryActed: `cleanup --copy dr`
// deletes a backup from dr alone, and `restore --from dr` reads dr. The
// webhook gets cleanup_completed naming the deleted backup, and
// restore_completed, each exactly as a cleanup or restore of the primary
// sends them: nothing in either says dr. An on-call reading "cleanup
// completed: deleted X" believes the primary lost X; an inventory fed by
// the hook marks X gone although the primary keeps it. The product
// resists if each event names dr in some field.
func TestAttack26NotificationsSayWhichRepositoryActed(t *testing.T) {
	h := newHarness(t)
	dr := h.bed.StartMinIO(t, "dr-copies")
	h.config = h.writeCopyConfig("[retention]\nkeep_full_backups = 3\n" + drTarget(dr) + "[copy.retention]\nkeep_full_backups = 1\n")
	h.createShop(100)
	for i := 0; i < 2; i++ {
		h.addRows(1000*(i+1), 10)
		h.mustRun("backup", "--kind", "full")
	}
	h.mustRun("cleanup", "--copy", "dr")
	h.mustRun("restore", "--from", "dr", "--target", "shop_restored")
	for _, name := range []string{"cleanup_completed", "restore_completed"} {
		var events []sidecar.Event
		for deadline := time.Now().Add(30 * time.Second); len(events) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			events = h.hook.received(name)
		}
		if len(events) != 1 {
			t.Fatalf("%d %s events, want 1", len(events), name)
		}
		if !namesTarget(events[0], "dr") {
			t.Errorf("DEFECT: %s of copy target dr does not say dr: %+v", name, events[0])
		}
	}
}

// namesTarget reports whether a string field of e is target or says
// "copy target target".
func namesTarget(e sidecar.Event, target string) bool {
	v := reflect.ValueOf(e)
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.String && (f.String() == target || strings.Contains(f.String(), "copy target "+target)) {
			return true
		}
	}
	return false
}
