package setmodel_test

import (
	"testing"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// TestPartialSetRestoresEachShardOntoItsOwnShard: a named partial set of
// shards 1, 2, 3 whose shard 2 failed, restored onto the same three-shard
// cluster, must put shard 3's rows on shard 3 (docs/cluster.md: "3 → 3 |
// 1→1, 2→2, 3→3"). PlanRestore maps only the shards that have a backup,
// by position, so source shard 3 lands on target shard 2 — the node that
// holds shard 2's data — and target shard 3 gets empty tables. Shard 3
// alone, the repair of a lost shard, is sent to node 2 as well, where
// its tables hold shard 2's rows and are left: node 3 is not repaired
// and the request succeeds.
func TestPartialSetRestoresEachShardOntoItsOwnShard(t *testing.T) {
	partial := set("s3", 3, setmodel.SetPartial, 1, 2, 3)
	in := setmodel.RestoreInput{Set: partial, Results: results(partial), Target: targetTopology(t, "three_shards"), Tables: mixed}
	if _, failed := partial.Reasons[coord.ShardFolder(2)]; !failed {
		t.Fatalf("the fixture's partial set lacks shard 2: %v", partial.Reasons)
	}
	for _, only := range []int{0, 3} {
		in.Shard = only
		p, err := setmodel.PlanRestore(in)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Steps {
			if s.Kind == setmodel.StepData && s.Source != s.Target {
				t.Errorf("shard %d alone (0 = all): step %s restores source shard %d's rows onto target shard %d of a cluster of the same shards (map %+v)",
					only, s.Key, s.Source, s.Target, p.Map.Placements)
			}
		}
	}
}
