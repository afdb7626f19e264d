//go:build bench || faults

package main

// The helpers of s3proxy_integration_test.go that only the benchmarks
// (tag bench) and the fault tests (tag faults) use: under their tags, so
// the default build has no unused code and lint sees them where they run.

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// reset returns the requests counted by kind since the last reset.
func (p *s3Proxy) reset() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.counts
	p.counts = map[string]int{}
	return out
}

// countShapes counts the requests from now on by kind and the shape of
// their object (objectShape), for topShapes.
func (p *s3Proxy) countShapes() *shapeCounts {
	c := &shapeCounts{proxy: p, n: map[string]int{}}
	p.mu.Lock()
	p.observe = func(kind string, u *url.URL) { c.n[kind+" "+objectShape(u)]++ }
	p.mu.Unlock()
	return c
}

// shapeCounts is the requests counted by kind and object, guarded by the
// proxy's mu.
type shapeCounts struct {
	proxy *s3Proxy
	n     map[string]int
}

// Runs of digits, and the test databases' names, vary between objects
// of one kind: objectShape folds them so a round's requests count by kind.
var (
	digitsRun   = regexp.MustCompile(`[0-9]+`)
	benchTenant = regexp.MustCompile(`tenant_[0-9]+`)
	hexLikeRun  = regexp.MustCompile(`[0-9a-f]{8,}(-[0-9a-f]{4,})*`)
)

// objectShape is a request's object (or a LIST's prefix) with its
// database and ids folded: "cv/serve/{db}/full/#/metadata.json".
func objectShape(u *url.URL) string {
	s := u.Path
	if p := u.Query().Get("prefix"); p != "" || u.Query().Has("list-type") {
		s += "?prefix=" + p
	}
	s = benchTenant.ReplaceAllString(s, "{db}")
	s = hexLikeRun.ReplaceAllString(s, "#")
	return digitsRun.ReplaceAllString(s, "#")
}

// top returns the n most requested kinds and shapes of object counted, and
// forgets them, each with its count per unit (a round's databases), most
// first.
func (c *shapeCounts) top(n int, per float64) string {
	c.proxy.mu.Lock()
	defer c.proxy.mu.Unlock()
	type shape struct {
		name  string
		count int
	}
	all := make([]shape, 0, len(c.n))
	for k, v := range c.n {
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
	clear(c.n)
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
