package metrics

import "github.com/clickvault/clickvault/sidecar/cluster/setmodel"

// shardStates are how a shard of a set ends: every one is set on each
// seal, so a state no shard ended in reads 0, not the last set's count.
var shardStates = []setmodel.ShardState{setmodel.ShardSucceeded, setmodel.ShardFailed, setmodel.ShardRejected, setmodel.ShardMissing}

// SetSealed sets clickvault_set_shards{database,state} to the shards of the
// set just answered, in each state.
func (m *Metrics) SetSealed(database string, shards map[setmodel.ShardState]int) {
	if !m.databases[database] {
		return // a gauge: the configured databases' alone (Metrics.databases)
	}
	for _, state := range shardStates {
		m.setShards.WithLabelValues(database, string(state)).Set(float64(shards[state]))
	}
}
