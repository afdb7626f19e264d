package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ClickHouse/ch-go"
	"golang.org/x/sync/errgroup"
)

// TestVerifyIsExactUnderWrites is issue 18's acceptance: rows are inserted
// without pause while backups run, and ten verifies in a row pass: verify
// compares the restored parts with the backup's own parts, not with a
// count taken before the BACKUP. A lightweight delete does not confuse it
// either (its hidden rows are in the parts on both sides).
func TestVerifyIsExactUnderWrites(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(20000)
	h.exec("DELETE FROM shop.orders WHERE id % 10 = 0")
	ctx, stop := context.WithCancel(h.ctx)
	var g errgroup.Group
	g.Go(func() error {
		writer, err := h.bed.ClickHouse.Dial(ctx, "admin")
		if err != nil {
			return err
		}
		defer func() { _ = writer.Close() }()
		for i := 0; ctx.Err() == nil; i++ {
			q := fmt.Sprintf("INSERT INTO shop.orders SELECT number, 'live' FROM numbers(%d, 200)", 1_000_000+i*200)
			if err := writer.Do(ctx, ch.Query{Body: q}); err != nil && ctx.Err() == nil {
				return err
			}
		}
		return nil
	})
	defer func() { stop(); _ = g.Wait() }()
	for i := 0; i < 10; i++ {
		h.mustRun("backup")
		r := h.run("", "verify")
		if r.code != 0 || !strings.Contains(r.stdout, "verify passed") || !strings.Contains(r.stdout, "rows in the backup's parts") {
			t.Fatalf("verify %d under writes: exit %d\n%s\n%s", i+1, r.code, r.stdout, r.stderr)
		}
	}
	stop()
	if err := g.Wait(); err != nil {
		t.Fatalf("the writer: %v", err)
	}
	if n := h.count("SELECT count() FROM system.databases WHERE name LIKE 'clickvault_verify_%'"); n != 0 {
		t.Fatalf("%d scratch databases left", n)
	}
}
