//go:build faults

package main

// Fault tests: `go tool task faults`. Each ends with assertSurvival: every
// request terminal, every chain restorable, no completed metadata without a
// .backup object, no orphan unreported.

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// assertSurvival asserts what must hold after any fault.
func (h *harness) assertSurvival() {
	h.t.Helper()
	sidecarRan := h.count("SELECT count() FROM system.databases WHERE name = 'clickvault'") > 0
	if n := uint64(0); sidecarRan {
		if n = h.count("SELECT count() FROM clickvault.request_status WHERE state NOT IN ('succeeded', 'failed', 'rejected', 'cancelled')"); n != 0 {
			h.t.Fatalf("%d requests are not terminal", n)
		}
	}
	chains := h.listDatabase("shop")
	r := h.mustRun("list", "--json", "--database", "shop")
	known := map[string]bool{}
	for _, c := range chains {
		for _, b := range c.Backups {
			folder := coord.Layout{Prefix: "cv/test"}.Folder("shop", b.Kind, b.Name)
			known[folder] = true
			if b.Status == "completed" && h.objectSizes(coord.BackupFileKey(folder))[coord.BackupFileKey(folder)] == 0 {
				h.t.Fatalf("completed backup %s has no .backup object", b.Name)
			}
		}
	}
	for _, kind := range []string{"full", "incremental"} {
		for key := range h.objectSizes("cv/test/shop/" + kind + "/") {
			parts := strings.Split(key, "/")
			folder := strings.Join(parts[:5], "/") + "/"
			if !known[folder] && !strings.Contains(r.stdout, folder) {
				h.t.Fatalf("folder %s is neither in the catalog nor reported as an orphan", folder)
			}
		}
	}
	for _, c := range chains {
		if c.Depth > 0 {
			newest := c.Backups[len(c.Backups)-1]
			for i := len(c.Backups) - 1; i >= 0 && newest.Status != "completed"; i-- {
				newest = c.Backups[i]
			}
			if v := h.run("", "verify", "--backup", newest.Name); v.code != 0 {
				h.t.Fatalf("chain %s is not restorable at %s: %s", c.Name, newest.Name, v.stderr)
			}
		}
	}
}

// TestFaultSidecarKilledAtRandom: SIGKILL the sidecar at a random moment of
// each of 20 backups, then start it again.
func TestFaultSidecarKilledAtRandom(t *testing.T) {
	h, sc := newSidecarHarness(t, 500_000, "")
	for i := 0; i < envInt("CLICKVAULT_FAULT_ROUNDS", 20); i++ {
		h.addRows(1_000_000+i*1000, 1000)
		id := h.request(h.ch, "action, database", "'backup', 'shop'")
		time.Sleep(time.Duration(rand.IntN(2500)) * time.Millisecond)
		sc.kill()
		sc = h.startSidecar(sc.config, sc.addr)
		st := h.waitState(id, 3*time.Minute, "succeeded", "failed")
		t.Logf("round %d: %s %s", i, st.state, st.message)
	}
	h.assertSurvival()
}

// TestFaultMinIORestartedMidBackup: MinIO stops while a backup runs and
// comes back.
func TestFaultMinIORestartedMidBackup(t *testing.T) {
	h, _ := newSidecarHarness(t, 3_000_000, "")
	id := h.request(h.ch, "action, database", "'backup', 'shop'")
	h.waitBackupStarted(id)
	h.bed.MinIO.Stop()
	time.Sleep(3 * time.Second) // the outage's length, not a wait for anything
	if err := h.bed.MinIO.Start(h.ctx); err != nil {
		t.Fatal(err)
	}
	if !h.bed.ClickHouse.Running() {
		// libchdb (not a ClickHouse server) dies when S3 vanishes under a
		// running BACKUP; the test goes on as after a ClickHouse crash.
		t.Log("the engine died when MinIO stopped; restarting it, as after a ClickHouse crash")
		h.restartEngine()
	}
	h.afterFault(id, "a MinIO restart")
}

// TestFaultEngineKilledMidBackup: "ClickHouse" dies while a backup runs and
// is started again; the sidecar reconnects and settles the request.
func TestFaultEngineKilledMidBackup(t *testing.T) {
	h, _ := newSidecarHarness(t, 3_000_000, "")
	id := h.request(h.ch, "action, database", "'backup', 'shop'")
	h.waitBackupStarted(id)
	h.bed.ClickHouse.Kill()
	time.Sleep(2 * time.Second)
	h.restartEngine()
	h.afterFault(id, "an engine crash")
}

// TestFaultDeletesFailDuringCleanup: S3 refuses deletes; cleanup stops at
// the first failure, leaves no survivor on a deleted base, and a later
// cleanup finishes the job.
func TestFaultDeletesFailDuringCleanup(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(100)
	proxy := newS3Proxy(t, h.bed.MinIO.Endpoint)
	h.config = h.configVia(proxy, "[retention]\nkeep_full_backups = 1\n")
	for i := 0; i < 3; i++ {
		h.mustRun("backup", "--full")
		h.mustRun("backup")
	}
	proxy.setFailDeletes(true)
	if r := h.run("", "cleanup"); r.code != 1 || !strings.Contains(r.stderr, "cleanup stopped") {
		t.Fatalf("cleanup with failing deletes: exit %d: %s", r.code, r.stderr)
	}
	// Deletes work again before the survival check: its verify pins the
	// chain and deletes the pin when done, and a pin left behind by a
	// failed delete would rightly keep the chain from the next cleanup.
	proxy.setFailDeletes(false)
	h.assertSurvival()
	h.mustRun("cleanup")
	if chains := h.listDatabase("shop"); len(chains) != 1 {
		t.Fatalf("after the second cleanup: %d chains", len(chains))
	}
	h.assertSurvival()
}

// TestFaultHostileRequests: 1,000 malformed or hostile rows; each is
// answered, nothing runs for them, and the sidecar keeps working.
func TestFaultHostileRequests(t *testing.T) {
	h, _ := newSidecarHarness(t, 100, "poll_interval = \"200ms\"\n")
	hostile := []string{"x; DROP TABLE shop.orders", "shop`; DROP DATABASE shop; --", "' OR 1=1 --", "../../etc",
		strings.Repeat("A", 100_000), "shop\x00", "{db:String}", "$(rm -rf /)", "shop.orders", "", "🦀", "S3('http://evil')"}
	var ids, actions, dbs, kinds, backups, targets proto.ColStr
	for i := 0; i < 1000; i++ {
		ids.Append(uuid.NewString())
		actions.Append([]string{"backup", "restore", "verify", "cleanup", "cancel", "drop", hostile[i%len(hostile)]}[i%7])
		dbs.Append(hostile[(i*7)%len(hostile)])
		kinds.Append([]string{"auto", "full", "incremental", "differential", hostile[i%len(hostile)]}[i%5])
		backups.Append(hostile[(i*3)%len(hostile)])
		targets.Append(hostile[(i*5)%len(hostile)])
	}
	alice := h.as("alice")
	input := proto.Input{{Name: "id", Data: &ids}, {Name: "action", Data: &actions}, {Name: "database", Data: &dbs},
		{Name: "kind", Data: &kinds}, {Name: "backup", Data: &backups}, {Name: "target", Data: &targets}}
	if err := alice.Do(h.ctx, ch.Query{Body: "INSERT INTO clickvault.requests " + input.Columns() + " VALUES", Input: input}); err != nil {
		t.Fatalf("insert the hostile rows: %v", err)
	}
	deadline := time.Now().Add(10 * time.Minute)
	for h.count("SELECT count() FROM clickvault.request_status WHERE state NOT IN ('succeeded', 'failed', 'rejected', 'cancelled')") > 0 {
		if time.Now().After(deadline) {
			t.Fatal("hostile requests still unanswered after 10 minutes")
		}
		time.Sleep(500 * time.Millisecond)
	}
	if n := h.count("SELECT count() FROM shop.orders"); n != 100 {
		t.Fatalf("shop.orders has %d rows after the hostile requests", n)
	}
	states := h.count("SELECT countIf(state = 'rejected') FROM clickvault.request_status")
	t.Logf("%d of 1000 hostile requests rejected", states)
	ok := h.request(h.ch, "action, database", "'backup', 'shop'")
	if st := h.waitState(ok, time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" {
		t.Fatalf("a good request after the hostile ones: %+v", st)
	}
	h.assertSurvival()
}

// waitBackupStarted waits until ClickHouse accepted the request's BACKUP.
func (h *harness) waitBackupStarted(id string) {
	h.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for h.status(id).backup == "" {
		if time.Now().After(deadline) {
			h.t.Fatalf("the backup of request %s never started: %+v", id, h.status(id))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// afterFault: the request hit by the fault ends (either way, with a
// reason), the next backup succeeds, and everything survives.
func (h *harness) afterFault(id, fault string) {
	h.t.Helper()
	st := h.waitState(id, 5*time.Minute, "succeeded", "failed")
	h.t.Logf("backup across %s: %s %s", fault, st.state, st.message)
	next := h.request(h.ch, "action, database", "'backup', 'shop'")
	if st := h.waitState(next, 5*time.Minute, "succeeded", "failed"); st.state != "succeeded" {
		h.t.Fatalf("the backup after %s: %+v", fault, st)
	}
	h.assertSurvival()
}
