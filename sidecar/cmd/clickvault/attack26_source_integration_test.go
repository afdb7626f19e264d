package main

import (
	"strings"
	"testing"
	"time"
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
