// Package setmodel is the pure model of a cluster's sets: what package
// cluster decides with, free of I/O, unit-tested on rows captured from the
// test bed (testdata/system_clusters, with -update) and hand-written ones.
//
// The topology and where this server sits in it (topology.go); the records
// a set, its shards' results and the open-sets list are (set.go); the
// choice of the replica that backs up a shard and its SYNC REPLICA
// (replicas.go); a restore's choice of set and shard mapping
// (restore_choice.go), its steps (restore_steps.go), its record
// (restore_record.go) and how a step stopped part-way goes on
// (restore_resume.go); and which sets retention keeps and deletes
// (retention_sets.go).
package setmodel
