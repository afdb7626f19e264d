package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestCleanupWaitsForSlowRestore is issue 22's acceptance for pins: a
// restore of the oldest chain, slowed at the S3 side (every GET of a data
// object through a proxy in front of MinIO waits), is asked for as a real
// login through the sidecar; a cleanup that keeps one chain runs while it
// reads. The restore completes with every row, the cleanup says the pin
// kept the chain, and the chain is deleted only by the cleanup after.
func TestCleanupWaitsForSlowRestore(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.config = h.writeConfig("[retention]\nkeep_full_backups = 1\n")
	h.createShop(0)
	for link := 0; link < 3; link++ { // chain A: a full and two incrementals, two parts each
		h.addRows(link*20000, 10000)
		h.addRows(link*20000+10000, 10000)
		h.mustRun("backup")
	}
	rowsAtA := h.count("SELECT count() FROM shop.orders")
	h.addRows(60000, 5000)
	h.mustRun("backup", "--full") // chain B: the one a cleanup keeps
	chains := h.list()
	if len(chains) != 2 || len(chains[1].Backups) != 3 {
		t.Fatalf("want chains B and A (3 backups), got %+v", chains)
	}
	chainA := chains[1]
	newestA := chainA.Backups[len(chainA.Backups)-1].Name

	proxy := newS3Proxy(t, h.bed.MinIO.Endpoint)
	addr := freeAddr(t)
	h.startSidecar(h.viaProxy(h.sidecarConfig(addr, ""), proxy), addr)
	proxy.slowDown("/data/", 600*time.Millisecond)
	id := h.request(h.as("alice"), "action, database, backup, target",
		fmt.Sprintf("'restore', 'shop', '%s', 'shop_restored'", newestA))
	for deadline := time.Now().Add(time.Minute); proxy.slowedGets() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the restore read no data object within a minute: %+v", h.status(id))
		}
	}
	cleanup := h.run("", "cleanup")
	if st := h.status(id); st.state != "running" {
		t.Fatalf("the restore ended before the cleanup did (%+v): slow it down more", st)
	}

	st := h.waitState(id, 5*time.Minute, "succeeded", "failed")
	if st.state != "succeeded" {
		t.Fatalf("restore during a cleanup: %s %q\ncleanup: %s%s", st.state, st.message, cleanup.stdout, cleanup.stderr)
	}
	if n := h.count("SELECT count() FROM shop_restored.orders"); n != rowsAtA {
		t.Fatalf("restored %d rows, the backup holds %d", n, rowsAtA)
	}
	if cleanup.code != 0 || !strings.Contains(cleanup.stdout, "kept backup "+newestA+" and every backup it is built on: pinned by restore "+id) {
		t.Fatalf("cleanup during the restore: exit %d\n%s%s", cleanup.code, cleanup.stdout, cleanup.stderr)
	}
	for _, b := range chainA.Backups {
		if len(h.keys(fmt.Sprintf("cv/test/shop/%s/%s/", b.Kind, b.Name))) == 0 {
			t.Fatalf("backup %s of the pinned chain was deleted", b.Name)
		}
	}

	t.Logf("cleanup during the restore (%d data GETs slowed by then):\n%s", proxy.slowedGets(), cleanup.stdout)
	proxy.slowDown("", 0)
	after := h.mustRun("cleanup")
	for _, b := range chainA.Backups {
		if !strings.Contains(after.stdout, "deleted "+string(b.Kind)+" backup "+b.Name) || len(h.keys(fmt.Sprintf("cv/test/shop/%s/%s/", b.Kind, b.Name))) != 0 {
			t.Fatalf("the cleanup after the restore left backup %s:\n%s", b.Name, after.stdout)
		}
	}
	if pins := h.keys("cv/test/shop/.clickvault_pins/"); len(pins) != 0 {
		t.Fatalf("pins left after the restore: %v", pins)
	}
}

// viaProxy rewrites a config so that ClickVault and ClickHouse both reach
// S3 through the proxy.
func (h *harness) viaProxy(config string, p *s3Proxy) string {
	body, err := os.ReadFile(config)
	if err != nil {
		h.t.Fatal(err)
	}
	out := strings.Replace(string(body), `endpoint = "`+h.bed.MinIO.Endpoint+`"`, `endpoint = "`+p.url+`"`, 1)
	path := config + ".proxied"
	h.writeFile(path, out)
	return path
}
