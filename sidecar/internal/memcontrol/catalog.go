package memcontrol

import (
	"context"
	"maps"
	"sort"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/model"
)

// CatalogRows reads the backups table of a database, by name: the newest
// row of each backup, as FINAL reads a ReplacingMergeTree.
func (p *ControlPlane) CatalogRows(_ context.Context, database string) ([]control.CatalogRow, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []control.CatalogRow
	for _, r := range p.catalog {
		if r.Database == database {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// WriteCatalog adds or replaces rows, stored as the table keeps them: times
// to the millisecond in UTC, maps copied and never nil.
func (p *ControlPlane) WriteCatalog(_ context.Context, rows []control.CatalogRow) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range rows {
		for _, t := range []**time.Time{&r.StartedAt, &r.FinishedAt, &r.CheckedAt, &r.VerifiedAt} {
			if *t != nil {
				v := millis(**t)
				*t = &v
			}
		}
		r.Tables, r.TableBytes = copyMap(r.Tables), copyMap(r.TableBytes)
		r.Copies = append([]string{}, r.Copies...)
		p.catalog[r.Database+"/"+r.Name] = r
		p.written["catalog/"+r.Database+"/"+r.Name] = time.Now()
	}
	return nil
}

// ExpireDeleted removes the backups and sets whose row says deleted and
// was written before before.
func (p *ControlPlane) ExpireDeleted(_ context.Context, before time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, r := range p.catalog {
		if r.Status == model.CatalogDeleted && p.written["catalog/"+key].Before(before) {
			delete(p.catalog, key)
		}
	}
	for key, r := range p.sets {
		if r.State == setmodel.SetDeleted && p.written["sets/"+key].Before(before) {
			delete(p.sets, key)
		}
	}
	return nil
}

func copyMap(m map[string]uint64) map[string]uint64 {
	if m == nil {
		return map[string]uint64{}
	}
	return maps.Clone(m)
}
