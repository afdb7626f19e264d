package main

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// TestRetentionDeletesWholeOldChains: with keep_full_backups = 1 and two
// chains, a dry run deletes nothing and names the old chain; cleanup removes
// every object of it and leaves the new chain restorable.
func TestRetentionDeletesWholeOldChains(t *testing.T) {
	h := newHarness(t)
	h.config = h.writeConfig("[retention]\nkeep_full_backups = 1\n")
	h.createShop(50)
	h.mustRun("backup")
	h.addRows(50, 5)
	h.mustRun("backup")
	h.addRows(55, 5)
	h.mustRun("backup", "--full")
	h.addRows(60, 5)
	h.mustRun("backup")
	chains := h.list()
	if len(chains) != 2 {
		t.Fatalf("want two chains, got %d", len(chains))
	}
	old, kept := chains[1], chains[0]
	before := h.keys("cv/test/shop/")

	r := h.mustRun("cleanup", "--dry-run")
	if !strings.Contains(r.stdout, "would delete") || !strings.Contains(r.stdout, old.Name) {
		t.Fatalf("dry run does not name the old chain %s: %s", old.Name, r.stdout)
	}
	if after := h.keys("cv/test/shop/"); len(after) != len(before) {
		t.Fatalf("dry run deleted %d objects", len(before)-len(after))
	}

	h.mustRun("cleanup")
	for _, b := range old.Backups {
		folder := coord.Layout{Prefix: "cv/test"}.Folder("shop", b.Kind, b.Name)
		if left := h.keys(folder); len(left) != 0 {
			t.Fatalf("cleanup left %d objects of %s: %v", len(left), b.Name, left[:1])
		}
	}
	if chains := h.list(); len(chains) != 1 || chains[0].Name != kept.Name || chains[0].Depth != 2 {
		t.Fatalf("after cleanup: %+v", chains)
	}
	h.mustRun("restore", "--target", "after_cleanup")
	if got := h.count("SELECT count() FROM after_cleanup.orders"); got != 65 {
		t.Fatalf("restore of the kept chain gave %d rows, want 65", got)
	}
	if len(h.hook.received("cleanup_completed")) != 1 {
		t.Fatal("no cleanup_completed notification")
	}
}

func (h *harness) keys(prefix string) []string {
	h.t.Helper()
	keys, err := h.bed.MinIO.Keys(h.ctx, prefix)
	if err != nil {
		h.t.Fatal(err)
	}
	return keys
}

// TestConcurrentBackupsDoNotForkTheChain: two backups started together; one
// succeeds, the other exits 1 saying the chain is locked.
func TestConcurrentBackupsDoNotForkTheChain(t *testing.T) {
	h := newHarness(t)
	h.createShop(200_000)
	h.mustRun("backup")
	h.addRows(200_000, 100_000)
	var wg sync.WaitGroup
	results := make([]result, 2)
	start := make(chan struct{})
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.CommandContext(context.Background(), clickvaultBinary(t), "-c", h.config, "backup")
			var out, errOut strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errOut
			<-start
			err := cmd.Run()
			code := 0
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			results[i] = result{stdout: out.String(), stderr: errOut.String(), code: code}
		}()
	}
	close(start)
	wg.Wait()
	ok, locked := 0, 0
	for _, r := range results {
		switch {
		case r.code == 0:
			ok++
		case r.code == 1 && strings.Contains(r.stderr, "locked"):
			locked++
		default:
			t.Fatalf("unexpected outcome %d: %s %s", r.code, r.stdout, r.stderr)
		}
	}
	if ok != 1 || locked != 1 {
		t.Fatalf("want one success and one 'locked', got %d and %d", ok, locked)
	}
	chains := h.list()
	if len(chains) != 1 || chains[0].Depth != 2 || len(chains[0].Backups) != 2 {
		t.Fatalf("the chain forked or grew twice: %+v", chains)
	}
}
