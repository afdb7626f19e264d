package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestRestoreReadsACopyWhenThePrimaryIsBroken is issue 26's "a restore
// picks a copy by itself when the primary is … broken": a data object of
// the full a two-link chain is built on is deleted from the primary
// bucket. `clickvault restore` (naming no copy) checks the chain first,
// reads the copy dr instead and says why, naming the missing object; every
// row comes back. With the copies broken too, the restore reads the
// primary all the same and says so; its RESTORE fails and is undone.
func TestRestoreReadsACopyWhenThePrimaryIsBroken(t *testing.T) {
	h := newHarness(t)
	dr := h.bed.StartMinIO(t, "dr-copies")
	h.config = h.writeCopyConfig(copyTargets(dr.Endpoint, dr))
	h.createShop(1000)
	h.mustRun("backup")
	h.addRows(1000, 500)
	h.mustRun("backup")
	chain := h.list()[0]
	if len(chain.Backups) != 2 {
		t.Fatalf("want one chain of 2, got %+v", chain)
	}
	count, hash := h.count("SELECT count() FROM shop.orders"), h.count("SELECT sum(cityHash64(*)) FROM shop.orders")
	full := chain.Backups[0].Name
	victim := h.dataObject(fmt.Sprintf("cv/test/shop/full/%s/", full))
	h.removeObjects(victim)

	r := h.mustRun("restore", "--target", "shop_copy")
	if !strings.Contains(r.stdout, "(from copy target dr)") || !strings.Contains(r.stderr, "restoring from a copy target") ||
		!strings.Contains(r.stderr, "is broken") || !strings.Contains(r.stderr, victim) {
		t.Errorf("restore with the primary's full broken does not say it read dr because of %s:\n%s\n%s", victim, r.stdout, r.stderr)
	}
	// What the check found is kept as check keeps it: the catalog shows it.
	if checks := h.object("cv/test/shop/.clickvault_check.json"); !strings.Contains(checks, `"broken"`) || !strings.Contains(checks, victim) {
		t.Errorf("the check results do not record the broken full naming %s:\n%s", victim, checks)
	}
	if got := h.count("SELECT count() FROM shop_copy.orders"); got != count {
		t.Fatalf("restored %d rows from the copy, want %d", got, count)
	}
	if got := h.count("SELECT sum(cityHash64(*)) FROM shop_copy.orders"); got != hash {
		t.Fatalf("restored rows differ: sum(cityHash64(*)) %d, want %d", got, hash)
	}

	// Every copy broken as well: the primary is read all the same. Into
	// shop_restored, which deploy/grants.sql lets the sidecar drop: the
	// failed restore is undone.
	h.removeDataObjectIn(dr, fmt.Sprintf("cv/dr/shop/full/%s/", full))
	h.removeObjects(h.dataObject(fmt.Sprintf("cv/near/shop/full/%s/", full)))
	r = h.run("", "restore", "--target", "shop_restored")
	if r.code != 1 || !strings.Contains(r.stderr, "restoring from the primary all the same") ||
		!strings.Contains(r.stderr, "no copy target holds it sound") {
		t.Fatalf("restore with every copy broken: exit %d, want 1 saying it read the primary all the same\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if h.databaseExists("shop_restored") {
		t.Fatalf("the failed restore left database shop_restored behind:\n%s\n%s", r.stdout, r.stderr)
	}
}

// TestRestoreRequestReadsACopyWhenThePrimaryIsBroken: the same through
// serve: alice's restore request, naming no source, is answered from the
// copy dr, and the answer says the primary's backup is broken.
func TestRestoreRequestReadsACopyWhenThePrimaryIsBroken(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	dr := h.bed.StartMinIO(t, "dr-copies")
	h.createShop(1000)
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, h.fillPrimary(copyTargets(dr.Endpoint, dr))), addr)
	h.backupRequest()
	h.waitCopies(dr.Keys, 1)
	count := h.count("SELECT count() FROM shop.orders")
	victim := h.dataObject("cv/test/shop/full/")
	h.removeObjects(victim)

	id := h.request(h.as("alice"), "action, database, target", "'restore', 'shop', 'shop_restored'")
	st := h.waitState(id, 2*time.Minute, "succeeded", "failed", "rejected")
	if st.state != "succeeded" || !strings.Contains(st.message, "; read from copy target dr, because the primary bucket could not serve it: backup ") ||
		!strings.Contains(st.message, " is broken: ") || !strings.Contains(st.message, victim) {
		t.Fatalf("restore with the primary's backup broken: %s: %s", st.state, st.message)
	}
	if got := h.count("SELECT count() FROM shop_restored.orders"); got != count {
		t.Errorf("restored %d rows from the copy, want %d", got, count)
	}
}

// removeDataObjectIn deletes one data object (a data.bin) under folder in
// MinIO m, a copy target's or the primary's, and returns its key.
func (h *harness) removeDataObjectIn(m *testbed.MinIO, folder string) string {
	h.t.Helper()
	keys, err := m.Keys(h.ctx, folder)
	if err != nil {
		h.t.Fatal(err)
	}
	i := slices.IndexFunc(keys, func(k string) bool { return strings.HasSuffix(k, "/data.bin") })
	if i < 0 {
		h.t.Fatalf("no data object under %s: %v", folder, keys)
	}
	if _, err := m.Client().DeleteObject(h.ctx, &s3.DeleteObjectInput{Bucket: &m.Bucket, Key: &keys[i]}); err != nil {
		h.t.Fatalf("delete %s: %v", keys[i], err)
	}
	return keys[i]
}
