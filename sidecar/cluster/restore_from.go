package cluster

import (
	"fmt"
	"path"
	"strings"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
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

// sourceOf is the coordinator that reads the sets of the source cluster
// ("" = c's own): c's store and prefix under the source's id. It has no
// executor, restorer or options, so it can only read.
func sourceOf(c *Coordinator, source string) *Coordinator {
	if source == "" {
		return c
	}
	src := New(c.store, c.layout.WithID(source), c.cluster, c.self, nil, Options{}, c.logger)
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
