package cluster_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
)

// TestSetRetentionLeavesNoLinkOnADeletedBase: a link no set names (a
// backup taken twice when a claim was taken over, whose old holder's
// BACKUP still ran: docs/cluster.md "Only reasoned") rests on a link of a
// set the policy deletes. The plan deletes that base and leaves the
// outside link (Outside: "left to the shard's own cleanup", which a
// cluster node never runs), so a link is left built on a deleted base —
// against DeleteLinks' own rule. The engine's DeleteBackups
// (namedDeletions) refuses any deletion whose base a kept backup is built
// on, whole: the shard's links of that set, and of every set after it on
// that shard, can then never be deleted.
func TestSetRetentionLeavesNoLinkOnADeletedBase(t *testing.T) {
	st := history()
	// Y1: a second backup of shard 1 taken for set B by a replica whose
	// claim was taken over: built on A1, like B1, named by no set.
	st.Links[1] = append(st.Links[1], cluster.Link{Name: "Y1", Base: "A1"})
	plan := cluster.PlanSetRetention(st, cluster.SetPolicy{KeepFullSets: 1}, t0.Add(7*time.Hour+time.Minute))
	for n, links := range st.Links {
		deleted := plan.DeleteLinks[n]
		for _, l := range links {
			if l.Base != "" && slices.Contains(deleted, l.Base) && !slices.Contains(deleted, l.Name) {
				t.Errorf("shard %d: %s is deleted while %s, left, is built on it (outside: %v)", n, l.Base, l.Name, plan.Outside[n])
			}
		}
	}
}

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
	ch := &engineChains{chains{links: map[int][]cluster.Link{}, deleted: map[int][]string{}}}
	ch.recordBackups(w)
	var ids []string
	for i, kind := range []string{"full", "full"} {
		out, _ := w.backupSet(t, setRequest(fmt.Sprintf("b%d", i), kind))
		ids = append(ids, out.ID)
		w.clock.Add(time.Hour)
		if i == 0 { // the old holder's BACKUP of a taken-over claim, completed on the first full
			ch.links[1] = append(ch.links[1], cluster.Link{Name: "X1", Base: out.ID + "-1"})
		}
	}
	reqs := cluster.Requests{Coord: w.nodes[0].c, Chains: ch, Policy: cluster.SetPolicy{KeepFullSets: 1}}
	out, err := reqs.CleanupSets(context.Background(), "shop", false)
	if err != nil || !slices.Contains(out.DeletedSets, ids[0]) || !slices.Contains(out.DeletedBackups[1], "X1") {
		t.Errorf("cleanup: deleted sets %v and backups %v, err %v; want %s deleted, and X1 built on it", out.DeletedSets, out.DeletedBackups, err, ids[0])
	}
	if out, err := reqs.CleanupSets(context.Background(), "shop", false); err != nil || len(out.DeletedSets) != 0 {
		t.Errorf("the next cleanup: deleted sets %v, err %v; want nothing left to delete", out.DeletedSets, err)
	}
}
