//go:build bench

package main

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestBenchTableRestore: restoring one table of ten equal tables from the
// newest backup of a depth-10 chain, against restoring the whole database
// from the same backup; goal ≤ 0.3×. Each is run three times, the median
// kept; both go through the CLI, so both carry its start-up.
func TestBenchTableRestore(t *testing.T) {
	h := newHarnessWith(t, benchUsers)
	rows := envInt("CLICKVAULT_BENCH_ROWS", 18_000_000) / 6 // per table: 3 million rows, about 100 MB
	h.exec("CREATE DATABASE IF NOT EXISTS big")
	for i := 0; i < 10; i++ {
		h.exec(fmt.Sprintf("CREATE TABLE big.t%d (id UInt64, payload String) ENGINE = MergeTree ORDER BY id", i))
		h.exec(fmt.Sprintf(`INSERT INTO big.t%d SELECT number, concat(hex(sipHash64(number, %d)), '-', toString(number))
			FROM numbers(%d)`, i, i, rows))
	}
	for link := 0; link < 10; link++ {
		if link > 0 {
			for i := 0; i < 10; i++ {
				h.exec(fmt.Sprintf("INSERT INTO big.t%d SELECT number, 'more' FROM numbers(%d, 1000)", i, rows+link*1000))
			}
		}
		h.mustRun("backup", "--database", "big")
	}
	if chain := h.listDatabase("big"); len(chain) != 1 || chain[0].Depth != 10 {
		t.Fatalf("want one chain of depth 10, got %+v", chain)
	}
	median := func(args func(round int) []string) time.Duration {
		var took []time.Duration
		for round := 0; round < 3; round++ {
			start := time.Now()
			h.mustRun(args(round)...)
			took = append(took, time.Since(start))
		}
		slices.Sort(took)
		return took[1]
	}
	whole := median(func(r int) []string {
		return []string{"restore", "--database", "big", "--target", fmt.Sprintf("whole_%d", r)}
	})
	one := median(func(r int) []string {
		return []string{"restore", "--database", "big", "--table", "t3", "--target", fmt.Sprintf("one_%d", r)}
	})
	if n := h.count("SELECT count() FROM one_0.t3"); n != uint64(rows+9000) {
		t.Fatalf("one_0.t3 has %d rows, want %d", n, rows+9000)
	}
	ratio := one.Seconds() / whole.Seconds()
	report(t, "restore/one-table-of-ten", "%.2f× the whole database (%.2fs vs %.2fs, depth 10, median of 3; goal ≤ 0.3×)",
		ratio, one.Seconds(), whole.Seconds())
	if ratio > 0.3 {
		t.Errorf("one table of ten took %.2f× the whole database; the goal is ≤ 0.3×", ratio)
	}
}
