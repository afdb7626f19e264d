package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// What a failed restore removes is what it created, by UUID, never what
// stands under a name (issue 22, "all or nothing"; restore_undo.go). The
// CLI is stopped (SIGSTOP, envFaultPause) at a point of its restore while
// the test changes ClickHouse as a person or another program could.

// cliProc is a CLI command running in the background.
type cliProc struct {
	cmd            *exec.Cmd
	stdout, stderr *bytes.Buffer
	exited         chan struct{}
}

// startCLI runs the CLI with the harness config and extra environment.
func (h *harness) startCLI(env []string, args ...string) *cliProc {
	h.t.Helper()
	p := &cliProc{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(clickvaultBinary(h.t), append([]string{"-c", h.config}, args...)...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	go func() { // ends with the process
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	h.t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGCONT)
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	return p
}

// awaitPause waits until the process has stopped itself at its pause point.
func (p *cliProc) awaitPause(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
		if err != nil {
			break
		}
		if _, after, ok := bytes.Cut(stat, []byte(") ")); ok && len(after) > 0 && after[0] == 'T' {
			return
		}
		select {
		case <-p.exited:
			t.Fatalf("the CLI ended before its pause point:\n%s\n%s", p.stdout, p.stderr)
		default:
		}
	}
	t.Fatalf("the CLI did not reach its pause point:\n%s\n%s", p.stdout, p.stderr)
}

// resume continues a paused process and waits for it to end.
func (p *cliProc) resume(t *testing.T) result {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the CLI did not end:\n%s\n%s", p.stdout, p.stderr)
	}
	return result{stdout: p.stdout.String(), stderr: p.stderr.String(), code: p.cmd.ProcessState.ExitCode()}
}

// stagingTable is the one staging table left in shop, or "".
func (h *harness) stagingTable() string {
	h.t.Helper()
	if h.staging() != 1 {
		return ""
	}
	var name string
	for _, n := range h.tableNames("shop") {
		if strings.HasPrefix(n, "clickvault_staging_") {
			name = n
		}
	}
	return name
}

// TestReplaceSwapBackFailureKeepsTheOriginal (issue 22, item 1): a
// replace of orders and items; once orders is swapped, items and the new
// orders are renamed away (as a person could), so the swap of items fails
// and so does the swap back of orders. The original orders, under its
// staging name, is kept, and the answer says where; before, the undo
// dropped it as a staging table and said the live tables were not changed.
func TestReplaceSwapBackFailureKeepsTheOriginal(t *testing.T) {
	h, _, _ := newSafetyHarness(t)
	h.mustRun("backup")
	h.exec("INSERT INTO shop.orders SELECT 900000 + number, 'after the backup' FROM numbers(100)")
	original := h.fingerprint("shop.orders")
	p := h.startCLI([]string{envFaultPause + "=replace-exchanged"}, "restore", "--database", "shop",
		"--table", "orders", "--table", "items", "--mode", "replace")
	p.awaitPause(t)
	h.exec("RENAME TABLE shop.orders TO shop.orders_moved")
	h.exec("RENAME TABLE shop.items TO shop.items_moved")
	r := p.resume(t)
	staging := h.stagingTable()
	if r.code != 1 || staging == "" {
		t.Fatalf("exit %d, staging tables left %d (want the original kept under its staging name)\n%s", r.code, h.staging(), r.stderr)
	}
	if got := h.fingerprint("shop." + staging); got != original {
		t.Fatalf("shop.%s holds %+v, want the original orders %+v", staging, got, original)
	}
	if !strings.Contains(r.stderr, "the original table shop.orders is kept, now named shop."+staging) ||
		strings.Contains(r.stderr, "the live tables were not changed") {
		t.Fatalf("the answer does not say where the original is:\n%s", r.stderr)
	}
}

// TestFailedRestoreKeepsWhatOthersCreated (issue 22, item 2): a restore
// into a new database fails (an object of orders is gone from S3); while
// it was paused after the failure, another login created a table in that
// database. The undo drops what the restore created and keeps the other
// table and the database, saying so; before, it dropped the database with
// the other table in it. The same for a table restore and a whole-database
// restore.
func TestFailedRestoreKeepsWhatOthersCreated(t *testing.T) {
	h, _, _ := newSafetyHarness(t)
	h.mustRun("backup")
	h.deleteDataObject(h.list()[0].Backups[0].Name, "orders")
	for _, args := range [][]string{{"--table", "orders", "--table", "items"}, nil} {
		p := h.startCLI([]string{envFaultPause + "=restore-failed"},
			append([]string{"restore", "--database", "shop", "--target", "shop_restored"}, args...)...)
		p.awaitPause(t)
		h.exec("CREATE TABLE shop_restored.notes (line String) ENGINE = MergeTree ORDER BY line")
		h.exec("INSERT INTO shop_restored.notes SELECT toString(number) FROM numbers(7)")
		r := p.resume(t)
		if r.code != 1 || !strings.Contains(r.stderr, "database shop_restored, which this restore created, is kept: it holds notes") {
			t.Fatalf("restore %v: exit %d\n%s", args, r.code, r.stderr)
		}
		if n := h.count("SELECT count() FROM shop_restored.notes"); n != 7 {
			t.Fatalf("restore %v: notes holds %d rows, want the 7 another login wrote", args, n)
		}
		if names := h.tableNames("shop_restored"); len(names) != 1 {
			t.Fatalf("restore %v: shop_restored holds %v, want notes alone", args, names)
		}
		h.exec("DROP DATABASE shop_restored SYNC")
	}
}

// TestTwoRestoresIntoOneNewTarget (issue 22, item 2): restore A of orders
// into the new database shop_restored is paused before it creates it;
// restore B of items creates it and succeeds; A goes on, fails (an object
// of orders is gone) and must not drop B's database. A refuses to take a
// database it did not create; before, CREATE DATABASE IF NOT EXISTS took
// it and A's undo dropped it with B's items.
func TestTwoRestoresIntoOneNewTarget(t *testing.T) {
	h, _, _ := newSafetyHarness(t)
	h.mustRun("backup")
	items := h.fingerprint("shop.items")
	h.deleteDataObject(h.list()[0].Backups[0].Name, "orders")
	a := h.startCLI([]string{envFaultPause + "=restore-before"}, "restore", "--database", "shop", "--target", "shop_restored", "--table", "orders")
	a.awaitPause(t)
	h.mustRun("restore", "--database", "shop", "--target", "shop_restored", "--table", "items")
	r := a.resume(t)
	if r.code != 1 || !strings.Contains(r.stderr, "someone created it since this restore looked") {
		t.Fatalf("restore A: exit %d\n%s", r.code, r.stderr)
	}
	if !h.databaseExists("shop_restored") || h.fingerprint("shop_restored.items") != items {
		t.Fatal("restore A's failure removed restore B's items")
	}
}

// TestTwoRestoreRequestsIntoOneNewTarget: the same through the sidecar,
// from two source databases at once: A of shop.orders (an object gone),
// B of shop2.things, into the new shop_restored. Each restore holds its
// target's turn (before, the source's: both ran at once); B's things
// survive A's failure.
func TestTwoRestoreRequestsIntoOneNewTarget(t *testing.T) {
	h := newHarnessWith(t, sidecarUsersWith(map[string][]string{
		"clickvault": {"BACKUP ON shop2.*"}, "alice": {"BACKUP, SELECT ON shop2.*"}}))
	h.createShop(51000)
	h.exec("CREATE DATABASE shop2")
	h.exec("CREATE TABLE shop2.things (id UInt64) ENGINE = MergeTree ORDER BY id")
	h.exec("INSERT INTO shop2.things SELECT number FROM numbers(5000)")
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, "poll_interval = \"200ms\"\n"), addr)
	alice := h.as("alice")
	h.deleteDataObject(h.backupShop(), "orders")
	h.expectRequest(alice, "action, database", "'backup', 'shop2'", "succeeded", "")
	for round := 0; round < 3; round++ {
		a := h.request(alice, "action, database, target, tables", "'restore', 'shop', 'shop_restored', ['orders']")
		b := h.request(alice, "action, database, target, tables", "'restore', 'shop2', 'shop_restored', ['things']")
		sa := h.waitState(a, time.Minute, "succeeded", "failed", "rejected")
		sb := h.waitState(b, time.Minute, "succeeded", "failed", "rejected")
		if sa.state != "failed" || sb.state != "succeeded" || h.count("SELECT count() FROM shop_restored.things") != 5000 {
			t.Fatalf("round %d: A %s %q, B %s %q; shop_restored holds %v", round, sa.state, sa.message, sb.state, sb.message,
				h.tableNames("shop_restored"))
		}
		h.exec("DROP DATABASE shop_restored SYNC")
	}
}

// TestRestoreIntoEmptyTableRefused (issue 22, item 3): a data restore into
// a table that exists, empty, is refused before anything runs: a RESTORE
// into it that failed halfway would leave it partly filled, and nothing
// could empty it safely. Mode replace is the way.
func TestRestoreIntoEmptyTableRefused(t *testing.T) {
	h, _, _ := newSafetyHarness(t)
	h.mustRun("backup")
	h.deleteDataObject(h.list()[0].Backups[0].Name, "events")
	h.exec("CREATE DATABASE shop_restored")
	h.exec("CREATE TABLE shop_restored.events AS shop.events")
	r := h.run("", "restore", "--database", "shop", "--target", "shop_restored", "--table", "events")
	if n := h.count("SELECT count() FROM shop_restored.events"); n != 0 {
		t.Fatalf("shop_restored.events holds %d rows after a failed restore", n)
	}
	if r.code != 1 || !strings.Contains(r.stderr, "table shop_restored.events exists (empty)") {
		t.Fatalf("restore into an empty table: exit %d\n%s", r.code, r.stderr)
	}
}

// TestSweepUndoesKilledRestore (issue 22, item 4): a whole-database
// restore by the CLI killed once its RESTORE is sent; ClickHouse finishes
// the RESTORE. Its work record gone stale, serve's sweep at start removes
// the database it created, as its record says, and marks the record with
// what it removed. Before, the sweep only looked for staging tables: the
// database stayed and the record said staging tables were removed.
func TestSweepUndoesKilledRestore(t *testing.T) {
	h, config, addr := newSafetyHarness(t)
	h.mustRun("backup")
	r := h.run("", "restore", "--database", "shop", "--target", "shop_restored")
	if r.code != 0 || !h.databaseExists("shop_restored") {
		t.Fatalf("restore: %d %s", r.code, r.stderr)
	}
	h.exec("DROP DATABASE shop_restored SYNC")
	killed := h.startCLI([]string{envFaultPoint + "=restore-sent"}, "restore", "--database", "shop", "--target", "shop_restored")
	<-killed.exited
	for deadline := time.Now().Add(time.Minute); h.count("SELECT count() FROM system.backups WHERE status = 'RESTORING'") > 0; {
		if time.Now().After(deadline) {
			t.Fatal("the RESTORE did not end")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !h.databaseExists("shop_restored") {
		t.Fatal("the RESTORE of the killed CLI created nothing")
	}
	key := h.ageWorkRecord(time.Hour)
	h.startSidecar(config, addr)
	for deadline := time.Now().Add(30 * time.Second); h.databaseExists("shop_restored"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the sweep left shop_restored: %v", h.tableNames("shop_restored"))
		}
	}
	var rec struct {
		Abandoned string `json:"abandoned"`
	}
	h.readJSON(key, &rec)
	if !strings.Contains(rec.Abandoned, "database shop_restored, which this restore created, is dropped") {
		t.Fatalf("the swept record says %q", rec.Abandoned)
	}
}

// tableNames lists the tables of a database.
func (h *harness) tableNames(database string) []string {
	h.t.Helper()
	var names proto.ColStr
	var out []string
	err := h.ch.Do(h.ctx, ch.Query{Body: "SELECT name FROM system.tables WHERE database = '" + database + "' ORDER BY name",
		Result: proto.ResultColumn{Data: &names}, OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < names.Rows(); i++ {
				out = append(out, names.Row(i))
			}
			names.Reset()
			return nil
		}})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// ageWorkRecord rewrites the one work record in the bucket with a
// heartbeat this old, as a record left by a process killed that long ago.
func (h *harness) ageWorkRecord(age time.Duration) string {
	h.t.Helper()
	keys, err := h.bed.MinIO.Keys(h.ctx, strings.TrimSuffix(coord.Layout{Prefix: "cv/test"}.WorkKey("x"), "x.json"))
	if err != nil || len(keys) != 1 {
		h.t.Fatalf("work records: %v, %v; want one", keys, err)
	}
	var rec map[string]any
	h.readJSON(keys[0], &rec)
	rec["heartbeat"] = time.Now().Add(-age).UTC().Format(time.RFC3339Nano)
	data, _ := json.Marshal(rec)
	m := h.bed.MinIO
	if _, err := m.Client().PutObject(h.ctx, &s3.PutObjectInput{Bucket: &m.Bucket, Key: &keys[0], Body: bytes.NewReader(data)}); err != nil {
		h.t.Fatal(err)
	}
	return keys[0]
}

func (h *harness) readJSON(key string, v any) {
	h.t.Helper()
	out, err := h.bed.MinIO.Client().GetObject(h.ctx, getInput(h.bed.MinIO.Bucket, key))
	if err != nil {
		h.t.Fatalf("get %s: %v", key, err)
	}
	defer func() { _ = out.Body.Close() }()
	data, err := io.ReadAll(out.Body)
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		h.t.Fatalf("read %s: %v", key, err)
	}
}
