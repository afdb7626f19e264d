// Package cluster backs up a ClickHouse cluster as sets: one backup per
// shard, each taken by the sidecar of one replica of that shard with
// ClickHouse's own single-node BACKUP, into that shard's own chains.
//
// It uses the cluster ClickHouse already defines (remote_servers, read from
// system.clusters) and builds no replication or sharding of its own. The
// sidecars coordinate only through the bucket, with S3 conditional writes:
// a set is created once (If-None-Match), one replica per shard wins the
// shard's claim, and any sidecar seals the set. See docs/cluster.md.
//
// What lives here: the topology (topology.go), every key of a cluster's
// bucket layout (layout.go), the set's records (set.go) and the
// Coordinator that creates, works and seals sets (coordinator*.go); and
// pure planners, not called yet: the replica that backs a shard up and
// its SYNC REPLICA (replicas.go), a set's restore and its record
// (restore_*.go), and retention of sets (retention_sets.go).
package cluster
