package main

import (
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/model"
)

// TestMergeHeavyChainSwitchesToAFull is issue 26's acceptance "a
// merge-heavy chain switches to a full at the threshold", with
// backup.full_when_incremental_exceeds = 0.5. After a full, an incremental
// of a few new rows stores little, though its logical size (total_size,
// which counts the files it takes from its base) is over half the full's:
// the next backup is still an incremental. Then OPTIMIZE TABLE … FINAL rewrites
// every part, and the incremental after it stores about as much as the
// full: the next backup is a full, forced, whose output, metadata and log
// say why (the incremental, its stored bytes, the full's, the key).
func TestMergeHeavyChainSwitchesToAFull(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.config = h.writeConfig("[backup]\nfull_when_incremental_exceeds = 0.5\n")
	h.createShop(20000)
	h.addRows(20000, 20000) // two parts, so the merge below rewrites them
	h.mustRun("backup")
	full := h.newestBackup()

	h.addRows(40000, 100)
	h.mustRun("backup")
	small := h.newestBackup()
	if small.Kind != "incremental" || small.TotalSize <= full.UncompressedSize/2 || small.UncompressedSize > full.UncompressedSize/2 {
		t.Fatalf("the small incremental: %s, stored %d, logical %d; the full stored %d", small.Kind, small.UncompressedSize,
			small.TotalSize, full.UncompressedSize)
	}
	h.addRows(40100, 100)
	h.mustRun("backup")
	if b := h.newestBackup(); b.Kind != "incremental" || b.FullForced {
		t.Fatalf("after an incremental that stored %d of the full's %d (logically %d): %s, forced %v; want an incremental",
			small.UncompressedSize, full.UncompressedSize, small.TotalSize, b.Kind, b.FullForced)
	}

	h.exec("OPTIMIZE TABLE shop.orders FINAL")
	h.addRows(40200, 100)
	h.mustRun("backup")
	merged := h.newestBackup()
	if merged.Kind != "incremental" || merged.UncompressedSize <= full.UncompressedSize/2 {
		t.Fatalf("the incremental after OPTIMIZE … FINAL: %s, stored %d of the full's %d", merged.Kind, merged.UncompressedSize,
			full.UncompressedSize)
	}
	r := h.mustRun("backup")
	b := h.newestBackup()
	if b.Kind != "full" || !b.FullForced || b.Base != "" {
		t.Fatalf("after the merged incremental (stored %d of the full's %d): %s, forced %v", merged.UncompressedSize,
			full.UncompressedSize, b.Kind, b.FullForced)
	}
	for _, want := range []string{merged.Name, full.Name, "full_when_incremental_exceeds", "0.5"} {
		if !strings.Contains(b.KindReason, want) || !strings.Contains(r.stdout, want) || !strings.Contains(r.stderr, want) {
			t.Errorf("the kind reason, output or log does not say %q:\nreason: %s\nstdout: %s\nstderr: %s", want, b.KindReason, r.stdout, r.stderr)
		}
	}
	if m := h.meta(model.KindFull, b.Name); m.KindReason != b.KindReason || !m.FullForced {
		t.Errorf("the metadata: %q, forced %v", m.KindReason, m.FullForced)
	}
	t.Logf("full stored %d B; small incremental stored %d B (logical %d B); merged incremental stored %d B; then: %s",
		full.UncompressedSize, small.UncompressedSize, small.TotalSize, merged.UncompressedSize, b.KindReason)
}
