package main

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// TestSizesSayWhatIsStored: a full and an incremental of shop. Every size
// ClickVault shows is what the bucket holds — the incremental's is what it
// added, not the files it takes from its base, and a chain's is what
// deleting it frees — with the logical size (what a restore brings back)
// beside it under its own name.
func TestSizesSayWhatIsStored(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(20000)
	h.mustRun("backup")
	h.addRows(20000, 100)
	h.mustRun("backup")

	chains := h.list()
	if len(chains) != 1 || len(chains[0].Backups) != 2 || chains[0].Backups[1].Kind != "incremental" {
		t.Fatalf("want one chain of a full and an incremental: %+v", chains)
	}
	ch, full, inc := chains[0], chains[0].Backups[0], chains[0].Backups[1]
	stored := map[string]uint64{full.Name: h.folderBytes(model.KindFull, full.Name), inc.Name: h.folderBytes(model.KindIncremental, inc.Name)}
	for _, b := range ch.Backups {
		if b.StoredBytes != stored[b.Name] {
			t.Errorf("list --json: %s stored_bytes %d, its folder holds %d", b.Name, b.StoredBytes, stored[b.Name])
		}
	}
	if inc.StoredBytes*4 > inc.TotalSize {
		t.Errorf("the incremental's stored_bytes %d is not well under its logical total_size %d", inc.StoredBytes, inc.TotalSize)
	}
	freed := stored[full.Name] + stored[inc.Name]
	if ch.Size != freed || ch.StoredBytes != freed || ch.LogicalBytes != inc.TotalSize {
		t.Errorf("list --json chain: size %d, stored_bytes %d, logical_bytes %d; want %d, %d, %d",
			ch.Size, ch.StoredBytes, ch.LogicalBytes, freed, freed, inc.TotalSize)
	}
	text := h.mustRun("list").stdout
	if !strings.Contains(text, "STORED") || !strings.Contains(text, "LOGICAL") ||
		!strings.Contains(text, model.FormatBytes(inc.StoredBytes)) {
		t.Errorf("list does not show the stored and logical sizes apart:\n%s", text)
	}

	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, ""), addr)
	deadline := time.Now().Add(time.Minute)
	for h.count("SELECT count() FROM clickvault.backups FINAL WHERE database = 'shop' AND stored_bytes > 0") != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the catalog has no stored_bytes for the two backups")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for name, want := range stored {
		got := h.count("SELECT stored_bytes FROM clickvault.catalog WHERE database = 'shop' AND name = '" + name + "'")
		if got != want {
			t.Errorf("catalog: %s stored_bytes %d, its folder holds %d", name, got, want)
		}
	}
	if got := h.count("SELECT size FROM clickvault.chains WHERE database = 'shop'"); got != freed {
		t.Errorf("chains.size is %d, deleting the chain frees %d", got, freed)
	}
	if got := h.count("SELECT logical_size FROM clickvault.chains WHERE database = 'shop'"); got != inc.TotalSize {
		t.Errorf("chains.logical_size is %d, the newest backup's total_size %d", got, inc.TotalSize)
	}
	if n := h.count("SELECT count() FROM clickvault.catalog WHERE database = 'shop' AND kind_reason != '' AND NOT full_forced"); n != 2 {
		t.Errorf("catalog: %d of 2 backups say why they are a full or an incremental", n)
	}
}

// folderBytes is what a backup of shop holds in the bucket: every object
// of its folder but its metadata.
func (h *harness) folderBytes(kind model.Kind, name string) uint64 {
	folder := coord.Layout{Prefix: "cv/test"}.Folder("shop", string(kind), name)
	var n uint64
	for key, size := range h.objectSizes(folder) {
		if key != coord.MetaKey(folder) {
			n += uint64(size)
		}
	}
	return n
}

func (h *harness) objectSizes(prefix string) map[string]int64 {
	out := map[string]int64{}
	pages := s3.NewListObjectsV2Paginator(h.bed.MinIO.Client(), &s3.ListObjectsV2Input{
		Bucket: aws.String(h.bed.MinIO.Bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(h.ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, o := range page.Contents {
			out[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
		}
	}
	return out
}
