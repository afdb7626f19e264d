package cluster

import (
	"context"
	"fmt"
	"slices"
	"time"

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

// resultsInShards refuses a set read from a source (another cluster's
// folder, a copy target) whose shard results name anything but a backup
// of that shard's own chains there: each result's folder must be the
// folder of the backup it names. The plan reads a shard's backup by name
// and the step's RESTORE reads the folder, so they must be one; and
// whoever may write the source (which this cluster only reads, or which
// weaker credentials guard) must not aim the RESTOREs elsewhere.
func resultsInShards(l Layout, set setmodel.Set, results map[int]setmodel.ShardResult) error {
	for n, res := range results {
		if res.Folder == "" && res.Backup == "" {
			continue // no backup: the shard is missing, with its reason
		}
		kindOK := res.Kind == string(model.KindFull) || res.Kind == string(model.KindIncremental)
		if !kindOK || model.ValidateIdentifier("backup", res.Backup) != nil ||
			res.Folder != l.Engine(n).Folder(set.Database, res.Kind, res.Backup) {
			return fmt.Errorf("%w: shard %d's result of set %s names the folder %q, not the folder of a backup of its own "+
				"in %s", control.ErrRejected, n, set.ID, res.Folder, l.ShardRoot(set.Database, n))
		}
	}
	return nil
}

// source is r reading the set and its backups where a request asks: this
// cluster's own primary bucket (r itself), another cluster's folder in it
// (cluster), or this cluster's folder at a [[copy]] target (copyName).
func (r Requests) source(ctx context.Context, cluster, copyName string) (Requests, error) {
	src := r
	switch {
	case cluster != "" && copyName != "":
		return r, fmt.Errorf("%w: a set is restored from another cluster's folder or from a copy target, not both", control.ErrRejected)
	case cluster != "":
		src.Coord = sourceOf(r.Coord, r.Coord.store, r.Coord.layout.WithID(cluster))
	case copyName != "":
		if r.Copies == nil {
			return r, fmt.Errorf("%w: source %s: this node has no [[copy]] targets", control.ErrRejected, copyName)
		}
		store, prefix, err := r.Copies(ctx, copyName)
		if err != nil {
			return r, fmt.Errorf("%w: source %s: %w", control.ErrRejected, copyName, err)
		}
		src.Coord = sourceOf(r.Coord, store, Layout{Prefix: prefix, ClusterID: r.Coord.layout.ClusterID})
	}
	return src, nil
}

// sourceWords names where a set is read from, for messages.
func sourceWords(cluster, copyName string) string {
	if copyName != "" {
		return "at copy target " + copyName
	}
	return "of cluster " + cluster
}

// readFrom has a record begun before read, in the steps this run is to
// send (pending, or ended failed or rejected: called before Reopen), from
// where rec (this run's) reads: a run from a copy target goes on with a
// restore a run from the primary began, and the reverse, each such step
// reading the folder this run's plan names. A step still started keeps
// its folder and source: its RESTORE may be running on its server,
// reading them, and is awaited through their engine.
func readFrom(had *setmodel.RestoreRecord, rec setmodel.RestoreRecord) {
	had.SourceCopy = rec.SourceCopy
	for i := range had.Steps {
		s := &had.Steps[i]
		if p := rec.Step(s.Key); p != nil && s.State != setmodel.StepDone && s.State != setmodel.StepStarted {
			s.Folder, s.Copy = p.Folder, p.Copy
		}
	}
}

// anotherClusters reports whether the record had was made for another
// cluster than this run's (a cluster that shares this id, or that had it
// before a disaster): its steps were done, if at all, on that cluster's
// servers, none of them on this one's. While that cluster's run has steps
// left, before its deadline, the record is its own (refused here);
// afterwards this run starts it over.
func anotherClusters(had, rec setmodel.RestoreRecord, now time.Time) (bool, error) {
	if had.TargetClusterName == "" || had.TargetClusterName == rec.TargetClusterName {
		return false, nil
	}
	if now.Before(had.Deadline) && !had.Ended() {
		return true, fmt.Errorf("the restore of set %s into %s is run by cluster %s (request %s) until %s: another cluster shares "+
			"this cluster.id", had.Set, had.Target, had.TargetClusterName, had.Run, had.Deadline.UTC().Format(time.RFC3339))
	}
	return true, nil
}

// goOnWith refuses to go on with the record had with this run's rec when
// they are not one restore: mapped otherwise (RestoreRecord.Matches), or
// a step not done whose backup this run's set names otherwise (a copy
// target's set of that name that is not the primary's).
func goOnWith(had setmodel.RestoreRecord, plan setmodel.RestorePlan, rec setmodel.RestoreRecord) error {
	if err := had.Matches(plan); err != nil {
		return err
	}
	for _, s := range had.Steps {
		if p := rec.Step(s.Key); p != nil && s.State != setmodel.StepDone && p.Backup != s.Backup {
			return fmt.Errorf("step %s of the restore of set %s into %s restores backup %s, and this run's set names %s there: "+
				"not the same set", s.Key, had.Set, had.Target, s.Backup, p.Backup)
		}
	}
	return nil
}

// anotherRequesters refuses to go on with the record had for req while
// another requester's run of it has steps left, before its deadline: the
// record carries who asked, and every node checks that requester's grants
// before its steps. Taken over, the run's remaining steps were checked
// against the newcomer's grants instead (one who may restore on one node
// failed an operator's restore on the others), and the newcomer rode on
// the first requester's admission. The same requester goes on with it (a
// request asked again), and anyone once the run is over or past its
// deadline (its sidecar gone).
func anotherRequesters(had setmodel.RestoreRecord, req control.SetRestoreRequest, now time.Time) error {
	if had.Ended() || !now.Before(had.Deadline) || (had.RequestedBy == req.RequestedBy && had.Operator == req.Operator) {
		return nil
	}
	// Another login's name and request stay its own, as in request_status
	// and set_catalog; the operator's request is named.
	by := "another login's request"
	if had.Operator {
		by = "request " + had.Run + " of the operator"
	}
	return fmt.Errorf("the restore of set %s into %s is being run by %s until %s at the latest: ask again once it ends",
		had.Set, had.Target, by, had.Deadline.UTC().Format(time.RFC3339))
}

// stepsHere reports whether rec has a step of this node (its target shard
// and replica): only then does the target's absence here say the restore
// was undone (a restore of another shard alone never made it here).
func stepsHere(rec setmodel.RestoreRecord, at setmodel.Position) bool {
	return slices.ContainsFunc(rec.Steps, func(s setmodel.StepRecord) bool { return s.Target == at.Shard && s.Replica == at.Replica })
}

// targetGone reports whether the target database is absent from this
// node's server: a record whose every step is done then tells of a restore
// undone since (the database dropped), and answering "nothing added"
// left the requester with nothing. Unknown (no restorer, a failed read):
// not gone.
func (r Requests) targetGone(ctx context.Context, target string) bool {
	if r.Coord.opts.Restorer == nil {
		return false
	}
	t, err := r.Coord.opts.Restorer.Target(ctx, target)
	return err == nil && !t.Exists
}
