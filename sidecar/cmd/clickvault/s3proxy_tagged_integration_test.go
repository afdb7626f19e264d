//go:build bench || faults

package main

// The helpers of s3proxy_integration_test.go that only the benchmarks
// (tag bench) and the fault tests (tag faults) use: under their tags, so
// the default build has no unused code and lint sees them where they run.

import (
	"encoding/json"
)

// reset returns the requests counted by kind since the last reset.
func (p *s3Proxy) reset() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.counts
	p.counts = map[string]int{}
	return out
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
