//go:build bench || faults

package main

// The helpers of s3proxy_integration_test.go that only the benchmarks
// (tag bench) and the fault tests (tag faults) use: under their tags, so
// the default build has no unused code and lint sees them where they run.

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// reset returns the requests counted by kind since the last reset.
func (p *s3Proxy) reset() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.counts
	p.counts = map[string]int{}
	p.shapes = map[string]int{}
	return out
}

// topShapes returns the n most requested kinds and shapes of object since
// the last reset (which also clears them), each with its count per unit
// (a round's databases), most first.
func (p *s3Proxy) topShapes(n int, per float64) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	type shape struct {
		name  string
		count int
	}
	all := make([]shape, 0, len(p.shapes))
	for k, v := range p.shapes {
		all = append(all, shape{k, v})
	}
	sort.Slice(all, func(i, j int) bool {
		return all[i].count > all[j].count || all[i].count == all[j].count && all[i].name < all[j].name
	})
	var b strings.Builder
	for i, s := range all {
		if i == n {
			break
		}
		fmt.Fprintf(&b, "\n  %6.2f %s", float64(s.count)/per, s.name)
	}
	return b.String()
}

func (p *s3Proxy) setFailDeletes(v bool) {
	p.mu.Lock()
	p.failDeletes = v
	p.mu.Unlock()
}

// listDatabase runs `list --json --database db`.
func (h *harness) listDatabase(db string) []listedChain {
	h.t.Helper()
	r := h.mustRun("list", "--json", "--database", db)
	var dbs []listedDatabase
	if err := json.Unmarshal([]byte(r.stdout), &dbs); err != nil || len(dbs) != 1 {
		h.t.Fatalf("list --json: %v: %s", err, r.stdout)
	}
	return dbs[0].Chains
}
