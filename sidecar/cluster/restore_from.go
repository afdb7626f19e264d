package cluster

import (
	"fmt"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/model"
)

// A restore of another cluster's set (control.SetRestoreRequest.FromCluster)
// reads the set, its shards' results and their backups under that
// cluster's id in the same bucket and prefix, and writes nothing there:
// its record is in this cluster's folder (ClusterLayout.ImportKey) and it
// is listed in this cluster's open.json, so only this cluster's nodes run
// its steps. Two live clusters never share an id: each would run the
// other's restores and sets.

// sourceCluster is the id of the cluster whose set a request restores:
// "" for this cluster's own (asked by its id or not at all).
func sourceCluster(c *Coordinator, from string) (string, error) {
	if from == "" || from == c.layout.ClusterID {
		return "", nil
	}
	if err := model.ValidateClusterID("the cluster to restore from", from); err != nil {
		return "", fmt.Errorf("%w: %w", control.ErrRejected, err)
	}
	return from, nil
}

// sourceOf is the coordinator that reads cluster from's sets ("" = c's
// own): c's store and prefix under from's id. It only reads.
func sourceOf(c *Coordinator, from string) *Coordinator {
	if from == "" {
		return c
	}
	src := New(c.store, Layout{Prefix: c.layout.Prefix, ClusterID: from}, c.cluster, c.self, c.exec, c.opts, c.logger)
	src.now = c.now
	return src
}

// recordKey is where a restore's record is: in its set's folder when the
// set is the cluster's own, else in this cluster's folder (l is its
// layout).
func recordKey(l Layout, rec setmodel.RestoreRecord) string {
	if rec.From != "" {
		return l.ImportKey(rec.Database, rec.From, rec.Set, rec.Target, rec.Shard)
	}
	return l.RestoreKey(rec.Database, rec.Set, rec.TargetCluster, rec.Target, rec.Shard)
}

// entryRecord is the restore an open.json entry lists, as far as the
// entry tells it (enough for its record's key and its unlisting).
func entryRecord(database string, e setmodel.OpenRestore) setmodel.RestoreRecord {
	return setmodel.RestoreRecord{Database: database, Set: e.Set, Target: e.Target, TargetCluster: e.TargetCluster,
		From: e.From, Shard: e.Shard}
}

// sameRestore reports whether an open.json entry lists rec's restore
// (whichever run holds it).
func sameRestore(e setmodel.OpenRestore, rec setmodel.RestoreRecord) bool {
	return e.Set == rec.Set && e.Target == rec.Target && e.TargetCluster == rec.TargetCluster && e.From == rec.From &&
		e.Shard == rec.Shard
}
