package cluster_test

import (
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
)

// TestASealKeepsWhenTheLastShardStarted: the seal records the latest start
// of the shards' backups that succeeded (as_of judges the set by it), not
// of a failed one, which the set does not hold.
func TestASealKeepsWhenTheLastShardStarted(t *testing.T) {
	created := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
	set := setmodel.Set{ID: "s", Database: "shop", Shards: []int{1, 2, 3}, CreatedAt: created}
	at := func(m int) time.Time { return created.Add(time.Duration(m) * time.Minute) }
	results := map[int]setmodel.ShardResult{
		1: {State: setmodel.ShardSucceeded, StartedAt: at(0)},
		2: {State: setmodel.ShardSucceeded, StartedAt: at(25)}, // taken over from a dead replica
		3: {State: setmodel.ShardFailed, StartedAt: at(40)},
	}
	sealed := cluster.Sealed(set, results, nil, "node1", at(50))
	if sealed.LastShardStart == nil || !sealed.LastShardStart.Equal(at(25)) || !sealed.DataTime().Equal(at(25)) {
		t.Fatalf("sealed: last shard start %v, data time %v; want %v", sealed.LastShardStart, sealed.DataTime(), at(25))
	}
}
