package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// diskObjects counts the objects of the server's S3 disk in MinIO.
func (h *harness) diskObjects() int {
	h.t.Helper()
	keys, err := h.bed.MinIO.BucketKeys(h.ctx, testbed.DiskBucket, testbed.DiskPrefix)
	if err != nil {
		h.t.Fatal(err)
	}
	return len(keys)
}

// copies is how many server-side copies (CopyObject) MinIO has served.
func (h *harness) copies() int {
	h.t.Helper()
	n, err := h.bed.MinIO.Requests(h.ctx, "copyobject")
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// copiesAfter is the count of server-side copies as it stood at end or
// later: MinIO counts afresh at most every 10 s, so it is read once that
// long has passed since end.
func (h *harness) copiesAfter(end time.Time) int {
	h.t.Helper()
	for time.Now().Before(end.Add(10*time.Second + 500*time.Millisecond)) {
		time.Sleep(200 * time.Millisecond)
	}
	return h.copies()
}

// copiedSince reports whether MinIO has served a server-side copy since
// it counted before, waiting out its counters' refresh (every 10 s).
func (h *harness) copiedSince(before int) bool {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for h.copies() <= before {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(500 * time.Millisecond)
	}
	return true
}

// partsOnDisk is where the active parts of shop.orders are: "disk × count".
func (h *harness) partsOnDisk() string {
	h.t.Helper()
	var out []string
	for _, disk := range []string{testbed.S3Disk, "default"} {
		n := h.count("SELECT count() FROM system.parts WHERE database = 'shop' AND table = 'orders' AND active AND disk_name = '" + disk + "'")
		if n > 0 {
			out = append(out, fmt.Sprintf("%s×%d", disk, n))
		}
	}
	return strings.Join(out, " ")
}

// TestTableOnS3DiskRestoresAfterDrop is issue 26's acceptance for tables
// on S3 disks: shop.orders keeps its parts on the server's S3 disk (a
// MinIO bucket of its own). A full and an incremental of it hold their
// own copy of the data, made by S3's server-side copy (MinIO counts the
// CopyObject requests), not pointers to the disk's objects: after the
// table is dropped and every object of the disk is gone, the restore of
// the incremental brings every row back, count and sum(cityHash64(*))
// equal, onto the S3 disk again, by server-side copies too.
func TestTableOnS3DiskRestoresAfterDrop(t *testing.T) {
	h := newHarnessWith(t, testbed.Options{Users: map[string]string{testbed.Admin: adminPassword}, S3Disk: true})
	h.exec("CREATE DATABASE shop")
	h.exec("CREATE TABLE shop.orders (id UInt64, item String) ENGINE = MergeTree ORDER BY id SETTINGS storage_policy = '" + testbed.S3Policy + "'")
	h.addRows(0, 50000)
	before := h.copies() // no copy yet: the rows were written to the disk
	h.mustRun("backup")
	if !h.copiedSince(before) {
		t.Error("the full backup of a table on an S3 disk made no server-side copy")
	}
	h.addRows(50000, 5000)
	r := h.mustRun("backup")
	if !strings.Contains(r.stdout, "incremental backup ") {
		t.Fatalf("the second backup is not an incremental:\n%s", r.stdout)
	}
	backedUp := time.Now()
	if where := h.partsOnDisk(); !strings.HasPrefix(where, testbed.S3Disk) || strings.Contains(where, "default") {
		t.Fatalf("the parts are on %q, want the S3 disk only", where)
	}
	want := h.fingerprint("shop.orders")

	if h.diskObjects() == 0 {
		t.Fatal("the S3 disk holds no object")
	}
	h.exec("DROP DATABASE shop SYNC")
	deadline := time.Now().Add(time.Minute)
	for h.diskObjects() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d objects of the dropped table are still on the S3 disk after a minute", h.diskObjects())
		}
		time.Sleep(200 * time.Millisecond)
	}

	before = h.copiesAfter(backedUp)
	h.mustRun("restore")
	if !h.copiedSince(before) {
		t.Error("the restore onto the S3 disk made no server-side copy")
	}
	if got := h.fingerprint("shop.orders"); got != want {
		t.Fatalf("restored %+v, want %+v", got, want)
	}
	if where := h.partsOnDisk(); !strings.HasPrefix(where, testbed.S3Disk) || strings.Contains(where, "default") || h.diskObjects() == 0 {
		t.Fatalf("the restored parts are on %q with %d objects on the S3 disk, want the S3 disk", where, h.diskObjects())
	}
}
