package cluster

import (
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
)

// Two live clusters must never share a cluster.id: each node takes part in
// every set and runs every restore step its open.json lists for its
// shard and replica, so a second cluster under the same id would back its
// shards up into the first's sets and restore onto the first's nodes. A
// set and a restore record name the cluster (remote_servers) they were
// made by and for; a node of another cluster takes no part in them and
// says so in its log, once each. It still seals a set past its deadline
// (as any sidecar may): the cluster that made it may be gone for good,
// as after a disaster, and its open set must end.

// ours reports whether a set or restore made by or for the cluster named
// name is this node's cluster's to work ("" = a record older than the
// name: taken as ours, as before).
func ours(c *Coordinator, name, what, id string) bool {
	if name == "" || name == c.cluster {
		return true
	}
	key := what + "/" + id
	c.mu.Lock()
	told := c.foreignTold[key]
	c.foreignTold[key] = true
	c.mu.Unlock()
	if !told {
		c.logger.Error("another cluster shares this cluster.id: this node takes no part in its "+what+" (give each cluster an id of its own; "+
			"restore another cluster's sets with clickvault restore --from-cluster)", what, id, "made_for_cluster", name,
			"this_cluster", c.cluster, "cluster_id", c.layout.ClusterID)
	}
	return false
}

// oursToWork reports whether this node backs its shard up for set.
func oursToWork(c *Coordinator, set setmodel.Set) bool {
	return set.Has(c.self.Position.Shard) && ours(c, set.Cluster, "set", set.ID)
}
