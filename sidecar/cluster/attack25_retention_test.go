package cluster_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
)

// engineChains refuses a deletion as the engine's DeleteBackups does
// (namedDeletions): whole, when a backup not deleted is built on one.
type engineChains struct{ chains }

func (c *engineChains) Delete(ctx context.Context, db string, shard int, names []string) ([]string, error) {
	c.mu.Lock()
	for _, l := range c.links[shard] {
		if l.Base != "" && slices.Contains(names, l.Base) && !slices.Contains(names, l.Name) {
			c.mu.Unlock()
			return nil, fmt.Errorf("delete backup %s: backup %s, which is not deleted, is built on it", l.Base, l.Name)
		}
	}
	c.mu.Unlock()
	return c.chains.Delete(ctx, db, shard, names)
}

// TestCleanupSetsNotStuckByALinkOutsideSets: end to end on the in-memory
// bucket, with the engine's rule for deletions: a backup named by no set
// built on shard 1's full of the first set is deleted with it (nothing
// could restore it once its base is gone); left, it kept the engine from
// deleting the base, the set stayed deleting and every cleanup failed.
func TestCleanupSetsNotStuckByALinkOutsideSets(t *testing.T) {
	w := newWorld(t, 1, 1)
	ch := &engineChains{chains{links: map[int][]setmodel.Link{}, deleted: map[int][]string{}}}
	ch.recordBackups(w)
	var ids []string
	for i, kind := range []string{"full", "full"} {
		out, _ := w.backupSet(t, setRequest(fmt.Sprintf("b%d", i), kind))
		ids = append(ids, out.ID)
		w.clock.Add(time.Hour)
		if i == 0 { // the old holder's BACKUP of a taken-over claim, completed on the first full
			ch.links[1] = append(ch.links[1], setmodel.Link{Name: "X1", Base: out.ID + "-1"})
		}
	}
	reqs := cluster.Requests{Coord: w.nodes[0].c, Chains: ch, Policy: setmodel.SetPolicy{KeepFullSets: 1}}
	out, err := reqs.CleanupSets(context.Background(), "shop", false)
	if err != nil || !slices.Contains(out.DeletedSets, ids[0]) || !slices.Contains(out.DeletedBackups[1], "X1") {
		t.Errorf("cleanup: deleted sets %v and backups %v, err %v; want %s deleted, and X1 built on it", out.DeletedSets, out.DeletedBackups, err, ids[0])
	}
	if out, err := reqs.CleanupSets(context.Background(), "shop", false); err != nil || len(out.DeletedSets) != 0 {
		t.Errorf("the next cleanup: deleted sets %v, err %v; want nothing left to delete", out.DeletedSets, err)
	}
}
