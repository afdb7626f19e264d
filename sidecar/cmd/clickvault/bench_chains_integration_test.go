//go:build bench

package main

import (
	"fmt"
	"maps"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// requests is a copy of the proxy's counts of requests by kind.
func (p *s3Proxy) requests() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.counts)
}

func requestsSince(before, after map[string]int) string {
	return fmt.Sprintf("%d LIST, %d GET, %d PUT", after["LIST"]-before["LIST"], after["GET"]-before["GET"], after["PUT"]-before["PUT"])
}

// benchTables creates shop with n MergeTree tables.
func (h *harness) benchTables(n int) {
	h.exec("CREATE DATABASE shop")
	for i := 0; i < n; i++ {
		h.exec(fmt.Sprintf("CREATE TABLE shop.t%d (id UInt64, v String) ENGINE = MergeTree ORDER BY id "+
			"SETTINGS old_parts_lifetime = 1", i))
	}
}

// insertAll inserts rows into every table of shop: a new part each.
func (h *harness) insertAll(tables, from, rows int) {
	for i := 0; i < tables; i++ {
		h.exec(fmt.Sprintf("INSERT INTO shop.t%d SELECT number, repeat(toString(number), 8) FROM numbers(%d, %d)", i, from, rows))
	}
}

var checkTook = regexp.MustCompile(`chain checked before an incremental.*links=(\d+) by_manifest=(\d+) took=(\S+)`)

// TestBenchChainCheck: what the check before an incremental costs on a
// deep chain. A chain of CLICKVAULT_BENCH_DEPTH (30) links of 10 tables,
// one new part per table per link (so each manifest lists every part);
// then the next incremental through an S3 proxy that counts requests, its
// time and the check's (from the debug log), beside a `check --backup` of
// the same chain, which reads every manifest (what the check costs for
// links whose metadata keeps no summary, written before it existed).
func TestBenchChainCheck(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	const tables = 10
	depth := envInt("CLICKVAULT_BENCH_DEPTH", 30)
	h.benchTables(tables)
	for i := 0; i < depth; i++ {
		h.insertAll(tables, i*1000, 1000)
		h.mustRun("backup")
	}
	proxy := newS3Proxy(t, h.bed.MinIO.Endpoint)
	cfg := h.configVia(proxy, "")
	h.insertAll(tables, depth*1000, 1000)
	before := proxy.requests()
	start := time.Now()
	r := h.run(cfg, "-l", "debug", "backup")
	took := time.Since(start)
	backupReqs := requestsSince(before, proxy.requests())
	m := checkTook.FindStringSubmatch(r.stderr)
	if r.code != 0 || m == nil || m[2] != "0" {
		t.Fatalf("backup: exit %d, check %v\n%s", r.code, m, r.stderr)
	}
	newest := h.newestBackup()
	before = proxy.requests()
	start = time.Now()
	if c := h.run(cfg, "check", "--backup", newest.Name); c.code != 0 {
		t.Fatalf("check: exit %d\n%s", c.code, c.stderr)
	}
	checkTime := time.Since(start)
	checkReqs := requestsSince(before, proxy.requests())
	key := "cv/test/shop/incremental/" + newest.Name + "/.backup"
	head, err := h.bed.MinIO.Client().HeadObject(h.ctx, &s3.HeadObjectInput{Bucket: &h.bed.MinIO.Bucket, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	report(t, "chain_check", "incremental on a chain of %s links (%d tables, the newest manifest %d B): backup %.2f s, %s; "+
		"the check within it %s, by listing (%s links read by manifest); `check --backup` of the same chain (every manifest read): %.2f s, %s",
		m[1], tables, *head.ContentLength, took.Seconds(), backupReqs, m[3], m[2], checkTime.Seconds(), checkReqs)
}

// TestBenchMergeHeavyChain: a chain under a merge-heavy load, with and
// without backup.full_when_incremental_exceeds = 0.5. Each of
// CLICKVAULT_BENCH_MERGE_ROUNDS (12) rounds inserts 10 % new rows into a
// 500,000-row table and runs OPTIMIZE TABLE … FINAL, which rewrites every
// part, then backs up. Bytes stored in the bucket (uncompressed_size
// summed), the chains' depths, and the time to restore the newest backup.
func TestBenchMergeHeavyChain(t *testing.T) {
	rounds := envInt("CLICKVAULT_BENCH_MERGE_ROUNDS", 12)
	for _, rule := range []string{"0", "0.5"} {
		h := newHarnessWith(t, sidecarUsers)
		h.config = h.writeConfig("[backup]\nfull_when_incremental_exceeds = " + rule + "\n")
		h.createShop(500_000)
		h.mustRun("backup")
		for i := 0; i < rounds; i++ {
			h.addRows(500_000+i*50_000, 50_000)
			h.exec("OPTIMIZE TABLE shop.orders FINAL")
			h.mustRun("backup")
		}
		var stored, logical uint64
		var depths []string
		chains := h.list()
		for _, c := range chains {
			depths = append(depths, fmt.Sprint(c.Depth))
			for _, b := range c.Backups {
				stored += b.UncompressedSize
				logical += b.TotalSize
			}
		}
		newest := chains[0]
		for _, c := range chains {
			if c.Start.After(newest.Start) {
				newest = c
			}
		}
		var newestStored uint64
		for _, b := range newest.Backups {
			newestStored += b.UncompressedSize
		}
		start := time.Now()
		h.mustRun("restore", "--target", "shop_restored")
		restore := time.Since(start)
		// What the bucket holds once retention (keep_full_backups = 4) ran:
		// a chain is deleted whole, so a long one is held whole.
		h.mustRun("cleanup")
		var kept uint64
		for _, c := range h.list() {
			for _, b := range c.Backups {
				kept += b.UncompressedSize
			}
		}
		report(t, "merge_heavy_chain", "rule %s, %d backups: %d chains (depths %s), %d B stored (%d B as total_size sums), "+
			"the newest chain %d B stored, depth %d; restore of the newest %.2f s; after cleanup (keep_full_backups = 4) %d B kept",
			rule, rounds+1, len(chains), strings.Join(depths, ","), stored, logical, newestStored, newest.Depth, restore.Seconds(), kept)
	}
}
