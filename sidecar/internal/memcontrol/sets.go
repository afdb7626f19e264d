package memcontrol

import (
	"context"
	"maps"
	"sort"
	"time"

	"github.com/clickvault/clickvault/sidecar/control"
)

// SetRows reads the sets table of a database, oldest first: the newest row
// of each set, as FINAL reads a ReplacingMergeTree.
func (p *ControlPlane) SetRows(_ context.Context, database string) ([]control.SetSummary, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []control.SetSummary
	for _, r := range p.sets {
		if r.Database == database {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// WriteSets adds or replaces rows, stored as the table keeps them: times
// to the millisecond in UTC, shards and reasons copied and never nil.
func (p *ControlPlane) WriteSets(_ context.Context, rows []control.SetSummary) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range rows {
		r.CreatedAt = millis(r.CreatedAt)
		if r.SealedAt != nil {
			v := millis(*r.SealedAt)
			r.SealedAt = &v
		}
		if r.LastShardStart != nil {
			v := millis(*r.LastShardStart)
			r.LastShardStart = &v
		}
		r.Shards = append([]int{}, r.Shards...)
		r.Reasons = maps.Clone(r.Reasons)
		if r.Reasons == nil {
			r.Reasons = map[string]string{}
		}
		p.sets[r.Database+"/"+r.ID] = r
		p.written["sets/"+r.Database+"/"+r.ID] = time.Now()
	}
	return nil
}
