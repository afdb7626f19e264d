package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Attacks on issue 22's pins, one level deeper: a restore that outlives
// the sidecar that started it.

// TestAttack22AdoptedRestoreIsNotPinned — FAILS (defect): alice restores
// the newest backup of the oldest chain (A) while retention keeps one
// chain (B). Her restore pins A. The sidecar is killed once the RESTORE is
// sent and its log row names the operation; ClickHouse goes on reading A.
// The restarted sidecar adopts the RESTORE (AdoptRestore) but takes no
// pin, and the dead sidecar's pin goes stale after PinStaleAfter (60 s).
// A cleanup then deletes chain A under the running RESTORE: the restore
// fails (or loses the rest of its reads), which is exactly what pins were
// built to prevent.
func TestAttack22AdoptedRestoreIsNotPinned(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.config = h.writeConfig("[retention]\nkeep_full_backups = 1\n")
	h.createShop(0)
	for link := 0; link < 3; link++ { // chain A: a full and two incrementals, four parts each
		for p := 0; p < 4; p++ {
			h.addRows(link*40000+p*10000, 10000)
		}
		h.mustRun("backup")
	}
	rowsAtA := h.count("SELECT count() FROM shop.orders")
	h.mustRun("backup", "--full") // chain B
	chains := h.list()
	chainA := chains[1]
	newestA := chainA.Backups[len(chainA.Backups)-1].Name

	proxy := newS3Proxy(t, h.bed.MinIO.Endpoint)
	addr := freeAddr(t)
	config := h.viaProxy(h.sidecarConfig(addr, "poll_interval = \"200ms\"\n"), proxy)
	sc := h.startSidecar(config, addr)
	proxy.slowDown("/data/", 10*time.Second) // about 90 s for this restore
	id := h.request(h.as("alice"), "action, database, backup, target", fmt.Sprintf("'restore', 'shop', '%s', 'shop_restored'", newestA))
	named := fmt.Sprintf("SELECT count() FROM clickvault.request_log WHERE request_id = '%s' AND operation_id != ''", id)
	for deadline := time.Now().Add(time.Minute); h.count(named) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the restore's running row never named its operation: %+v", h.status(id))
		}
	}
	sc.kill()
	killed := time.Now()
	h.startSidecar(config, addr) // adopts the RESTORE
	time.Sleep(time.Until(killed.Add(62 * time.Second)))
	if st := h.status(id); st.state != "running" {
		t.Fatalf("the restore ended before the dead sidecar's pin went stale (%+v): slow it down more", st)
	}
	cleanup := h.run("", "cleanup")
	st := h.waitState(id, 4*time.Minute, "succeeded", "failed")
	proxy.slowDown("", 0)
	var gone []string
	for _, b := range chainA.Backups {
		if len(h.keys(fmt.Sprintf("cv/test/shop/%s/%s/", b.Kind, b.Name))) == 0 {
			gone = append(gone, b.Name)
		}
	}
	if len(gone) > 0 || st.state != "succeeded" {
		t.Fatalf("DEFECT: a cleanup during the adopted restore deleted %v of the chain it reads; the restore ended %s %q "+
			"(want succeeded with %d rows)\ncleanup: %s", gone, st.state, tailString(st.message, 300), rowsAtA,
			strings.TrimSpace(cleanup.stdout))
	}
	if n := h.count("SELECT count() FROM shop_restored.orders"); n != rowsAtA {
		t.Fatalf("restored %d rows, the backup holds %d", n, rowsAtA)
	}
}
