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
// Coordinator that creates, works and seals sets (coordinator*.go), with
// the choice of the replica that claims a shard and its SYNC REPLICA
// (replica_claim.go over the planner replicas.go); a set's restore — the
// requester's side (restore_run.go, restore_wait.go), each node's steps
// (restore_node.go), over the planners restore_choice.go, restore_steps.go,
// restore_record.go and restore_resume.go; and retention of sets
// (retention_run.go over the planner retention_sets.go). The planners are
// pure functions, unit-tested on captured and hand-written rows.
package cluster
