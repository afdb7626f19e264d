package cluster

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// A restore of another cluster's set (its source cluster,
// control.SetRestoreRequest.SourceCluster) reads the set, its shards'
// results and their backups under that cluster's id in the same bucket
// and prefix, and writes nothing there: its record is in this cluster's
// folder (ClusterLayout.SourceRestoreKey) and it is listed in this
// cluster's open.json, so only this cluster's nodes run its steps (see
// foreign.go for why two live clusters never share an id).

// sourceClusterID is the id of the cluster whose set a request restores:
// "" for this cluster's own (asked by its id or not at all).
func sourceClusterID(c *Coordinator, asked string) (string, error) {
	if asked == "" || asked == c.layout.ClusterID {
		return "", nil
	}
	if err := model.ValidateClusterID("the cluster to restore from", asked); err != nil {
		return "", fmt.Errorf("%w: %w", control.ErrRejected, err)
	}
	return asked, nil
}

// sourceOf is the coordinator that reads sets in store under layout (a
// source cluster's folder, or a copy target's): it has no executor,
// restorer or options, so it can only read.
func sourceOf(c *Coordinator, store coord.ObjectStore, layout Layout) *Coordinator {
	src := New(store, layout, c.cluster, c.self, nil, Options{}, c.logger)
	src.now = c.now
	return src
}

// resultsInShards refuses a source cluster's set whose shard results name
// a backup folder outside that shard's own folder under the source's id:
// the steps' RESTOREs read the folders the results name, and whoever may
// write the source's folder (which this cluster only reads) must not
// point them elsewhere in the bucket.
func resultsInShards(l Layout, set setmodel.Set, results map[int]setmodel.ShardResult) error {
	for n, res := range results {
		f := res.Folder
		if f == "" {
			continue // no backup: the shard is missing, with its reason
		}
		if path.Clean(f)+"/" != f || !strings.HasPrefix(f, l.ShardRoot(set.Database, n)) {
			return fmt.Errorf("%w: shard %d's result of set %s names the folder %q, outside the shard's own %s",
				control.ErrRejected, n, set.ID, f, l.ShardRoot(set.Database, n))
		}
	}
	return nil
}

// source is r reading the set and its backups where a request asks: this
// cluster's own primary bucket (r itself), another cluster's folder in it
// (cluster), or this cluster's folder at a [[copy]] target (copy).
func (r Requests) source(ctx context.Context, cluster, copy string) (Requests, error) {
	src := r
	switch {
	case cluster != "" && copy != "":
		return r, fmt.Errorf("%w: a set is restored from another cluster's folder or from a copy target, not both", control.ErrRejected)
	case cluster != "":
		src.Coord = sourceOf(r.Coord, r.Coord.store, r.Coord.layout.WithID(cluster))
	case copy != "":
		if r.Copies == nil {
			return r, fmt.Errorf("%w: source %s: this node has no [[copy]] targets", control.ErrRejected, copy)
		}
		store, prefix, err := r.Copies(ctx, copy)
		if err != nil {
			return r, fmt.Errorf("%w: source %s: %w", control.ErrRejected, copy, err)
		}
		src.Coord = sourceOf(r.Coord, store, Layout{Prefix: prefix, ClusterID: r.Coord.layout.ClusterID})
	}
	return src, nil
}

// sourceWords names where a set is read from, for messages.
func sourceWords(cluster, copy string) string {
	if copy != "" {
		return "at copy target " + copy
	}
	return "of cluster " + cluster
}

// readFrom has a record begun before read, in the steps not done, from
// where rec (this run's) reads: a run from a copy target goes on with a
// restore a run from the primary began, and the reverse, each step not
// done reading the folder this run's plan names.
func readFrom(had *setmodel.RestoreRecord, rec setmodel.RestoreRecord) {
	had.SourceCopy = rec.SourceCopy
	for i := range had.Steps {
		s := &had.Steps[i]
		if p := rec.Step(s.Key); p != nil && s.State != setmodel.StepDone {
			s.Folder = p.Folder
		}
	}
}
