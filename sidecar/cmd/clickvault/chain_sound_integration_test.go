package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/model"
)

// dataObject is a data object of shop.orders in the backup folder (a key
// under cv/test/shop/).
func (h *harness) dataObject(folder string) string {
	h.t.Helper()
	for _, k := range h.keys(folder) {
		if strings.Contains(k, "/data/shop/orders/") && strings.HasSuffix(k, "/data.bin") {
			return k
		}
	}
	h.t.Fatalf("no data object in %s: %v", folder, h.keys(folder))
	return ""
}

// newestBackup is the newest backup of shop's newest chain, as listed.
func (h *harness) newestBackup() listedBackup {
	h.t.Helper()
	chain := h.list()[0]
	return chain.Backups[len(chain.Backups)-1]
}

// TestBrokenBaseGetsAFull is issue 26's acceptance "an object of the base
// deleted, then a backup: it is a full, and says why". A data object of
// the second link of a three-link chain is deleted in MinIO; the next
// `backup` is a full whose output, metadata (kind_reason, full_forced),
// `list --json` and log name the chain and the object; `--kind
// incremental` is refused. Then, through the sidecar, the same for a SQL
// request: an object of the new full deleted, alice's backup request
// succeeds with a full and its answer says why, counted in
// clickvault_backups_total{result="full_forced"}; the catalog marks the
// broken links of both chains.
func TestBrokenBaseGetsAFull(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(1000)
	var links []listedBackup
	for i := 0; i < 3; i++ {
		h.addRows(1000*i+1000, 100)
		r := h.mustRun("-l", "debug", "backup")
		links = append(links, h.newestBackup())
		// A sound chain is confirmed by listing each link's folder: the
		// summary of its objects in its metadata matches, no manifest read.
		if i == 2 && !strings.Contains(r.stderr, "links=2 by_manifest=0") {
			t.Errorf("the check of a sound chain of two read manifests:\n%s", r.stderr)
		}
	}
	if links[2].Kind != "incremental" || links[2].FullForced {
		t.Fatalf("a sound chain: link 3 is %+v", links[2])
	}
	victim := h.dataObject(fmt.Sprintf("cv/test/shop/incremental/%s/", links[1].Name))
	h.removeObjects(victim)

	if r := h.run("", "backup", "--kind", "incremental"); r.code != 1 || !strings.Contains(r.stderr, victim) {
		t.Fatalf("an explicit incremental on a broken chain: exit %d, want 1 naming %s\n%s\n%s", r.code, victim, r.stdout, r.stderr)
	}
	r := h.mustRun("backup")
	b := h.newestBackup()
	if b.Kind != "full" || !b.FullForced || !strings.Contains(b.KindReason, victim) || !strings.Contains(b.KindReason, links[0].Name) {
		t.Fatalf("the backup after the delete: %s, forced %v, reason %q; want a full naming %s", b.Kind, b.FullForced, b.KindReason, victim)
	}
	if !strings.Contains(r.stdout, "full backup "+b.Name) || !strings.Contains(r.stdout, "a full, not an incremental") || !strings.Contains(r.stdout, victim) {
		t.Errorf("backup's output does not say why:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "broken") || !strings.Contains(r.stderr, victim) {
		t.Errorf("backup's log does not say why:\n%s", r.stderr)
	}
	if m := h.meta(model.KindFull, b.Name); !m.FullForced || m.KindReason != b.KindReason || m.Objects == nil {
		t.Errorf("the metadata: forced %v, reason %q, objects %v", m.FullForced, m.KindReason, m.Objects)
	}

	// The SQL request: the new chain's full loses an object too.
	h.addRows(5000, 100)
	h.mustRun("backup")
	h.removeObjects(h.dataObject(fmt.Sprintf("cv/test/shop/full/%s/", b.Name)))
	addr := freeAddr(t)
	p := h.startSidecar(h.sidecarConfig(addr, ""), addr)
	id := h.request(h.as("alice"), "action, database", "'backup', 'shop'")
	st := h.waitState(id, 2*time.Minute, "succeeded", "failed", "rejected")
	if st.state != "succeeded" || !strings.HasPrefix(st.message, "full backup ") || !strings.Contains(st.message, "a full, not an incremental") ||
		!strings.Contains(st.message, "cannot take another link") {
		t.Fatalf("alice's backup on a broken chain: %+v", st)
	}
	// The answer is written after the metrics are told.
	if n := metricValue(t, "http://"+addr, `clickvault_backups_total{database="shop",kind="full",result="full_forced"}`); n != 1 {
		t.Errorf("clickvault_backups_total{result=\"full_forced\"} is %v, want 1", n)
	}
	// Both chains' broken links are in the catalog: link 2 and 3 of the
	// first, the full and its incremental of the second.
	deadline := time.Now().Add(30 * time.Second)
	for h.count("SELECT count() FROM clickvault.backups FINAL WHERE database = 'shop' AND check_status = 'broken'") != 4 {
		if time.Now().After(deadline) {
			t.Fatalf("the catalog does not show the 4 broken links")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The catalog says which fulls were forced, and why: the CLI's and alice's.
	for h.count("SELECT count() FROM clickvault.catalog WHERE database = 'shop' AND full_forced AND kind_reason LIKE '%it is broken%'") != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the catalog does not show the 2 forced fulls with their reason")
		}
		time.Sleep(200 * time.Millisecond)
	}
	log, err := os.ReadFile(p.log)
	if err != nil || !strings.Contains(string(log), "the chain the backup would extend is broken") {
		t.Errorf("the sidecar's log does not say why (%v)", err)
	}
}
