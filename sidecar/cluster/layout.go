package cluster

import "github.com/clickvault/clickvault/sidecar/coord"

// Layout places a cluster's backups and sets in the bucket; its keys are
// spelled in package coord with every other key of the bucket.
type Layout = coord.ClusterLayout

// ShardFolder is shard n's folder name inside a database's folder.
func ShardFolder(n int) string { return coord.ShardFolder(n) }
