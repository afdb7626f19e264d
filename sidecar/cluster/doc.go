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
// This package is the I/O: the Coordinator that creates, works and seals
// sets (coordinator*.go, seal.go), a replica's claim of a shard and its
// SYNC REPLICA (replica_claim.go), a failed attempt handed to another
// replica (attempts.go); a set's restore — the requester's side
// (restore_run.go, restore_wait.go) and each node's steps (restore_node.go);
// and retention of sets (retention_run.go). What they decide — the
// topology, the set's records and every planner — is the pure model in
// package setmodel, and every key of the bucket is spelled in package
// coord (ClusterLayout).
package cluster
