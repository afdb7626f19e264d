package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// Attacks on issue 22's pins, one level deeper: a restore that outlives
// the sidecar that started it.

// TestAttack22AdoptedRestoreIsNotPinned: alice restores the newest backup
// of the oldest chain (A) while retention keeps one chain (B). Her restore
// pins A. The sidecar is killed once the RESTORE is sent and its log row
// names the operation; ClickHouse goes on reading A. The restarted sidecar
// adopts the RESTORE (AdoptRestore) and must pin A itself: once the dead
// sidecar's pin is stale (PinStaleAfter, 60 s) a cleanup would otherwise
// delete chain A under the running RESTORE — which pins were built to
// prevent, and what this test found before adoption pinned.
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
	h.startSidecar(config, addr) // adopts the RESTORE
	h.waitStalePin("shop", id)
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

// waitStalePin waits until a pin of database for request id is stale: its
// heartbeat is coord.PinStaleAfter old (its holder was killed), so the
// next cleanup no longer counts it.
func (h *harness) waitStalePin(database, id string) {
	h.t.Helper()
	root := coord.Layout{Prefix: "cv/test"}.PinsRoot(database)
	for deadline := time.Now().Add(2 * coord.PinStaleAfter); ; time.Sleep(time.Second) {
		for _, key := range h.keys(root) {
			var pin coord.PinInfo
			if h.tryReadJSON(key, &pin) && pin.RequestID == id && time.Since(pin.Heartbeat) > coord.PinStaleAfter+time.Second {
				return
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no pin of request %s went stale within %s of its sidecar's kill", id, 2*coord.PinStaleAfter)
		}
	}
}

// tryReadJSON reads the JSON object at key into v; false if it is gone or
// not JSON (a pin deleted between its LIST and its GET).
func (h *harness) tryReadJSON(key string, v any) bool {
	out, err := h.bed.MinIO.Client().GetObject(h.ctx, getInput(h.bed.MinIO.Bucket, key))
	if err != nil {
		return false
	}
	defer func() { _ = out.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(out.Body, 1<<20))
	return err == nil && json.Unmarshal(data, v) == nil
}
