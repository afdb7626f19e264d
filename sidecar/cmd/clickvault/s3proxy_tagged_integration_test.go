//go:build bench || faults

package main

// The helpers of s3proxy_integration_test.go that only the benchmarks
// (tag bench) and the fault tests (tag faults) use: under their tags, so
// the default build has no unused code and lint sees them where they run.

import (
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
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
