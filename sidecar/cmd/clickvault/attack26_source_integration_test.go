package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// TestAttack26BrokenNewestIsNotSwappedForAnOlderCopy: the copy target dr
// lags — it holds the full F, not the incremental I taken after it (the
// second backup ran with a config without dr, as after a failed copy
// round). A data object of I is deleted from the primary. `clickvault
// restore` (no backup named: the newest) checks the primary's I, finds it
// broken, and should read "the first copy target holding the backup
// sound", or, as none holds I, read the primary all the same
// (docs/how-backups-work.md#copies). Instead the copy is asked for its
// own newest backup and F is restored from dr with exit 0: the 500 rows
// of I are silently gone, a restore of the newest backup ends as a
// restore of an older one because a copy target exists. The product
// resists if the restore reads I (succeeding with I's rows, or failing
// on its missing object and saying so) and never restores F.
func TestAttack26BrokenNewestIsNotSwappedForAnOlderCopy(t *testing.T) {
	h := newHarness(t)
	dr := h.bed.StartMinIO(t, "dr-copies")
	plain := h.config
	h.config = h.writeConfig(drTarget(dr))
	h.createShop(1000)
	h.mustRun("backup") // the full, copied to dr
	h.addRows(1000, 500)
	if r := h.run(plain, "backup"); r.code != 0 { // the incremental, not copied: dr lags
		t.Fatalf("backup without dr: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	chain := h.list()[0]
	if len(chain.Backups) != 2 {
		t.Fatalf("want one chain of 2, got %+v", chain)
	}
	full, incr := chain.Backups[0].Name, chain.Backups[1].Name
	rows := h.count("SELECT count() FROM shop.orders")
	h.removeObjects(h.dataObject("cv/test/shop/incremental/" + incr + "/"))

	r := h.run("", "restore", "--target", "shop_restored")
	if strings.Contains(r.stdout, "backup "+full) || r.code == 0 && !strings.Contains(r.stdout, "backup "+incr) {
		t.Fatalf("DEFECT: a restore of the newest backup (%s, broken in the primary, not at dr) restored the older %s from dr "+
			"(exit %d, %d rows of %d):\n%s\n%s", incr, full, r.code, h.count("SELECT count() FROM shop_restored.orders"), rows, r.stdout, r.stderr)
	}
	if r.code == 0 {
		if got := h.count("SELECT count() FROM shop_restored.orders"); got != rows {
			t.Fatalf("restored %d rows of %s, want %d", got, incr, rows)
		}
		return
	}
	if !strings.Contains(r.stderr, "restoring from the primary all the same") || !strings.Contains(r.stderr, "no copy target holds it sound") {
		t.Fatalf("the failed restore of %s does not say it read the primary all the same:\n%s\n%s", incr, r.stdout, r.stderr)
	}
}

// TestAttack26VerifyAsOfVerifiesAnotherBackup: a verify request with an
// as_of between a full F and the incremental I after it. Admission checks
// that a backup exists at or before as_of (and, with copy targets, picks
// where to read it by as_of), so the request is accepted as a verify of
// F; the run then verifies the newest backup, I, ignoring as_of, and
// answers "verified" — an operator proving the backup of that day sound
// is told so of another one (its name is only in the backup column). The
// product resists if the verify reads F (or refuses as_of, as it refuses
// other fields a verify would ignore).
func TestAttack26VerifyAsOfVerifiesAnotherBackup(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	addr := freeAddr(t)
	h.config = h.sidecarConfig(addr, "")
	h.createShop(1000)
	h.mustRun("backup")
	full := h.newestBackup().Name
	asOf := time.Now().UTC().Format("2006-01-02 15:04:05.000")
	h.addRows(1000, 500)
	h.mustRun("backup")
	if incr := h.newestBackup().Name; incr == full || incr <= asOf {
		t.Fatalf("want an incremental after %s, got %s", asOf, incr)
	}
	h.startSidecar(h.config, addr)
	id := h.request(h.as("alice"), "action, database, as_of", "'verify', 'shop', '"+asOf+"'")
	st := h.waitState(id, 2*time.Minute, "succeeded", "failed", "rejected")
	if st.state == "rejected" && strings.Contains(st.message, "as_of") {
		return
	}
	if st.backup != full {
		t.Fatalf("DEFECT: a verify as of %s (backup %s) verified %s: %s %q", asOf, full, st.backup, st.state, st.message)
	}
}

// TestAttack26AdoptedRestoreFromACopyForgetsItsCopy: a restore request
// naming no backup reads copy dr, the primary's newest being broken; the
// sidecar is killed once its RESTORE is sent (its work record is in dr's
// bucket). While it is down a new full is taken (the broken chain forces
// one). The restarted sidecar chooses the source again — for the newest
// backup, which is now the sound new full on the primary — and looks for
// the earlier run's work record in the primary, finds none, and runs the
// request again there: it fails "database shop_restored is not empty",
// the database its own first run's RESTORE filled (or, when the running
// row named the operation, waits for it without its record and answers
// without saying dr). dr's record stays behind, and once it is stale a
// later start's sweep of dr drops shop_restored. The product resists if
// the restarted run finds its work at dr, settles the RESTORE from there
// (its answer says dr) and leaves no record of it there.
func TestAttack26AdoptedRestoreFromACopyForgetsItsCopy(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	dr := h.bed.StartMinIO(t, "dr-copies")
	addr := freeAddr(t)
	h.config = h.sidecarConfig(addr, "poll_interval = \"200ms\"\n"+drTarget(dr))
	h.createShop(1000)
	h.mustRun("backup")
	broken := h.newestBackup().Name
	h.removeObjects(h.dataObject("cv/test/shop/full/" + broken + "/"))

	killed := h.startSidecarWith(h.config, addr, envFaultPoint+"=restore-sent")
	id := h.request(h.as("alice"), "action, database, target", "'restore', 'shop', 'shop_restored'")
	select {
	case <-killed.exited:
	case <-time.After(time.Minute):
		t.Fatal("the sidecar did not kill itself once the RESTORE was sent")
	}
	h.addRows(1000, 10)
	h.mustRun("backup") // a full: its chain is broken
	if newest := h.newestBackup(); newest.Name == broken || newest.Kind != "full" {
		t.Fatalf("want a new full after %s, got %+v", broken, newest)
	}

	restarted := h.startSidecar(h.config, addr)
	st := h.waitState(id, 2*time.Minute, "succeeded", "failed", "rejected")
	if st.state != "succeeded" || st.backup != broken || !strings.Contains(st.message, "read from copy target dr") {
		t.Errorf("DEFECT: the restore read from dr, adopted after a restart, answers %s (backup %s) without naming dr: %q", st.state, st.backup, st.message)
	}
	left, err := dr.Keys(h.ctx, strings.TrimSuffix(coord.Layout{Prefix: "cv/dr"}.WorkKey("x"), "x.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) == 0 {
		return
	}
	// What that record does: once stale, a start sweeps it.
	restarted.kill()
	ageWorkRecordIn(h, dr, "cv/dr", time.Hour)
	h.startSidecar(h.config, addr)
	for deadline := time.Now().Add(30 * time.Second); h.databaseExists("shop_restored") && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("DEFECT: the adopted restore left its work record at dr (%v); a later start's sweep then drops shop_restored, "+
		"which the request was told is restored: still there: %v", left, h.databaseExists("shop_restored"))
}

// TestAttack26NamedSourceSkipsTheBackupCheck: SPEC §4 rejects a request
// naming a backup that does not exist (or an as_of with no backup at or
// before it), executing nothing and writing nothing to S3. Named a copy
// target as source, the request's backup is never looked for at
// admission: a restore of a backup dr does not hold, or as of a time
// before every backup there, is claimed (an S3 write), run and answered
// failed. The product resists if both are rejected, saying what dr lacks,
// with no claim written.
func TestAttack26NamedSourceSkipsTheBackupCheck(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	dr := h.bed.StartMinIO(t, "dr-copies")
	h.createShop(100)
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, drTarget(dr)), addr)
	h.backupRequest()
	h.waitCopies(dr.Keys, 1)
	for _, c := range []struct{ columns, values, says string }{
		{"action, database, target, source, backup", "'restore', 'shop', 'shop_restored', 'dr', '20200101T000000000Z'", "20200101T000000000Z"},
		{"action, database, target, source, as_of", "'restore', 'shop', 'shop_restored', 'dr', '2020-01-01 00:00:00'", "2020-01-01"},
		{"action, database, source, backup", "'verify', 'shop', 'dr', '20200101T000000000Z'", "20200101T000000000Z"},
	} {
		id := h.request(h.as("alice"), c.columns, c.values)
		st := h.waitState(id, 2*time.Minute, "succeeded", "failed", "rejected")
		claims, err := h.bed.MinIO.Keys(h.ctx, fmt.Sprintf("cv/test/.clickvault/requests/%s", id))
		if err != nil {
			t.Fatal(err)
		}
		if st.state != "rejected" || !strings.Contains(st.message, c.says) || len(claims) > 0 {
			t.Errorf("DEFECT: (%s) = (%s): %s %q, claims %v; want rejected saying %q, nothing written to S3",
				c.columns, c.values, st.state, st.message, claims, c.says)
		}
	}
}

// TestAttack26RejectedRestoreChecksAndWritesFirst: SPEC §4 — a rejected
// request writes nothing to S3 (admission is ordered so that junk costs no
// S3 write). With a copy target configured and the primary's backup
// broken, alice's restore into a database that is not empty is rejected
// for its target — but only after admission checked the backup's chain
// (a LIST of every link) and wrote the broken verdict into the check
// results, which nothing the request asked for needed. The product
// resists if the check results are not written for the rejected request.
func TestAttack26RejectedRestoreChecksAndWritesFirst(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	dr := h.bed.StartMinIO(t, "dr-copies")
	h.createShop(100)
	h.exec("CREATE DATABASE shop_restored")
	h.exec("CREATE TABLE shop_restored.taken (x UInt8) ENGINE = MergeTree ORDER BY x")
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, drTarget(dr)), addr)
	h.backupRequest()
	h.waitCopies(dr.Keys, 1)
	h.removeObjects(h.dataObject("cv/test/shop/full/"))
	checks := coord.Layout{Prefix: "cv/test"}.CheckKey("shop")
	if keys := h.keys(checks); len(keys) != 0 {
		t.Fatalf("check results before any check: %v", keys)
	}
	h.expectRequest(h.as("alice"), "action, database, target", "'restore', 'shop', 'shop_restored'", "rejected", "not empty")
	if keys := h.keys(checks); len(keys) != 0 {
		t.Fatalf("DEFECT: the restore rejected for its target wrote %v (the chain check's verdict) to S3", keys)
	}
}

// TestAttack26CopyRefusingItsKeysReadsAsMissing: the primary lost a
// backup (its folder deleted by hand); copy target dr holds it, but dr's
// secret key in the configuration is wrong (rotated at the DR site, not
// here). `clickvault restore --backup NAME` answers that the backup does
// not exist — the primary's answer — and says nothing of dr, which was
// asked and refused the keys: the operator is told the backup is gone
// when it sits at dr behind a key to fix. The product resists if the
// failure names dr and what it answered (without the key).
func TestAttack26CopyRefusingItsKeysReadsAsMissing(t *testing.T) {
	h := newHarness(t)
	dr := h.bed.StartMinIO(t, "dr-copies")
	h.config = h.writeConfig(drTarget(dr))
	h.createShop(100)
	h.mustRun("backup")
	name := h.newestBackup().Name
	h.removeObjects("cv/test/shop/full/" + name + "/")
	wrong := h.rewriteConfig(h.config, fmt.Sprintf("secret_key = %q", dr.SecretKey), `secret_key = "rotated-at-the-dr-site"`)

	r := h.run(wrong, "restore", "--backup", name, "--target", "shop_restored")
	out := r.stdout + r.stderr
	h.assertNoCopySecret(dr, out)
	if strings.Contains(out, "rotated-at-the-dr-site") {
		t.Fatalf("the wrong key was printed:\n%s", out)
	}
	t.Logf("the restore answered (exit %d):\n%s", r.code, out)
	if r.code == 0 || !strings.Contains(out, "copy target dr") {
		t.Fatalf("DEFECT: the restore of %s, held by dr behind wrong keys, exits %d and never says dr could not be read:\n%s", name, r.code, out)
	}
}

// TestAttack26SilentCopyTargetKeepsServeDeaf: the DR site's S3 endpoint
// goes silent (it takes connections and never answers: a blackholing
// firewall, a hung load balancer) and the sidecar restarts. Serve probes
// and claims each copy target, then sweeps it, a minute each at most,
// before its HTTP server answers at all — /healthz included. The shipped
// Kubernetes manifest probes /healthz every 10 s (three failures restart
// the container): the pod is restarted before it ever serves, again and
// again, so the primary's backups and restores stop for as long as the DR
// site is silent. The product resists if /healthz answers within 20 s of
// the start, as it does without the copy target, and a SIGTERM while it
// still waits on the target ends it as a stop does, exit 0.
func TestAttack26SilentCopyTargetKeepsServeDeaf(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var mu sync.Mutex
	go func() { // takes connections, never answers
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = silent.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	})
	addr := freeAddr(t)
	config := h.sidecarConfig(addr, fmt.Sprintf("\n[[copy]]\nname = \"dr\"\nendpoint = \"http://%s\"\nbucket = \"dr\"\nprefix = \"cv/dr\"\n"+
		"access_key = \"dr-access\"\nsecret_key = \"dr-secret-key\"\n", silent.Addr()))
	cmd := exec.Command(clickvaultBinary(t), "-c", config, "serve")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })

	client := &http.Client{Timeout: time.Second} // as a kubelet's probe
	start := time.Now()
	for {
		resp, err := client.Get("http://" + addr + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			t.Fatalf("serve exited:\n%s", log.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Since(start) > 20*time.Second {
			_ = cmd.Process.Kill()
			<-exited
			t.Fatalf("DEFECT: /healthz unanswered %s after serve started, its copy target silent (a liveness probe restarts it):\n%s",
				time.Since(start).Round(time.Second), tailString(log.String(), 3000))
		}
	}
	// Answering, it takes requests too, though the runner still waits on
	// the silent target: the control tables exist before the hooks answer.
	if code, out := post(t, "http://"+addr+"/v1/backups", httpToken, `{"database":"shop"}`); code != http.StatusAccepted {
		t.Fatalf("a backup posted once /healthz answers: %d %s", code, out)
	}
	// Stopped while start-up still waits on the silent target (/readyz
	// says no), serve ends as a stop does, exit 0: a supervisor's stop
	// is no failure to alert on.
	resp, err := client.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("/readyz answered ready while the copy target is silent:\n%s", tailString(log.String(), 3000))
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop within 30 s of SIGTERM during its start-up:\n%s", tailString(log.String(), 3000))
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("DEFECT: SIGTERM during start-up: exit %d, want 0:\n%s", code, tailString(log.String(), 3000))
	}
}
