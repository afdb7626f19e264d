package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// ShardPlanner reads, from one source shard's backup itself (in the
// chains of that shard where from says), the engine's plan of its restore
// into target: each table with its engine (a Replicated* one gets its rows
// once per target shard) and what consumers leaves out or refuses.
type ShardPlanner func(ctx context.Context, from Source, database string, shard int, backup, target string, consumers model.Consumers) (model.RestorePlan, error)

// Source is where a set's restore reads the set and its backups: under
// the cluster named ClusterID, in the primary bucket or (Copy) in a
// [[copy]] target.
type Source struct {
	ClusterID string
	Copy      string
}

// RestoreSet is a set's restore as the requester's sidecar runs it: it
// chooses the set, plans the steps, writes the restore's record (or goes on
// with the one a run before wrote), lists it in open.json so that every
// node runs its own steps (Coordinator.Run), and waits until every step
// has ended or the deadline has passed. A refusal before anything was
// written wraps control.ErrRejected.
func (r Requests) RestoreSet(ctx context.Context, req control.SetRestoreRequest, progress func(set, message string)) (control.SetRestoreOutcome, error) {
	target := model.OrWord(req.Target, req.Database)
	out := control.SetRestoreOutcome{Set: req.Set, Shard: req.Shard, Target: target}
	source, err := sourceClusterID(r.Coord, req.SourceCluster)
	if err != nil {
		return out, err
	}
	out.SourceCluster, out.SourceCopy = source, req.SourceCopy
	src, err := r.source(ctx, source, req.SourceCopy) // reads the set and its backups
	if err != nil {
		return out, err
	}
	set, results, err := src.chooseSet(ctx, req)
	if err == nil && src.Coord != r.Coord {
		err = resultsInShards(src.Coord.layout, set, results)
	}
	if err != nil && src.Coord != r.Coord {
		return out, fmt.Errorf("choose a set %s: %w", sourceWords(source, req.SourceCopy), err)
	}
	if err != nil {
		return out, err
	}
	out.Set = set.ID
	plan, err := src.planRestore(ctx, req, set, results, target, Source{ClusterID: src.Coord.layout.ClusterID, Copy: req.SourceCopy})
	if err != nil {
		return out, err
	}
	rec := setmodel.NewRestoreRecord(plan, results, req.RequestID, r.Coord.layout.ClusterID, r.Coord.now().UTC())
	rec.SourceCluster, rec.SourceCopy, rec.TargetClusterName = source, req.SourceCopy, r.Coord.cluster
	for i := range rec.Steps {
		rec.Steps[i].Copy = req.SourceCopy
	}
	if req.DryRun {
		out = RestoreOutcome(rec)
		out.State = control.SetRestorePlanned
		return out, nil
	}
	rec, ran, err := r.beginRestore(ctx, req, plan, rec)
	if err != nil {
		return out, err
	}
	if err := r.stillSet(ctx, src.Coord, set, rec, ran); err != nil {
		return out, err
	}
	progress(set.ID, fmt.Sprintf("restore of %s into %s: %d steps, %d to run by the nodes", rec.What(), target, len(rec.Steps), ran))
	if ran > 0 {
		// Listed again (open.json lost meanwhile), the set is read again
		// as when it was first listed: a cleanup may have marked it.
		still := func(ctx context.Context, rec setmodel.RestoreRecord) error {
			return r.stillSet(ctx, src.Coord, set, rec, 1)
		}
		if rec, err = r.awaitRestore(ctx, rec, progress, still); err != nil {
			return RestoreOutcome(rec), err
		}
	}
	out = RestoreOutcome(rec)
	out.Ran = ran
	return out, nil
}

// chooseSet finds the set the request asks for and its shards' results:
// by name, or the newest completed at or before as_of (ChooseSet).
func (r Requests) chooseSet(ctx context.Context, req control.SetRestoreRequest) (setmodel.Set, map[int]setmodel.ShardResult, error) {
	var sets []setmodel.Set
	if req.Set != "" {
		if err := model.ValidateIdentifier("set", req.Set); err != nil {
			return setmodel.Set{}, nil, fmt.Errorf("%w: %w", control.ErrRejected, err)
		}
		s, _, err := r.Coord.readSet(ctx, req.Database, req.Set)
		if err != nil && !errors.Is(err, coord.ErrNotFound) {
			return setmodel.Set{}, nil, err
		}
		if err == nil {
			sets = append(sets, s)
		}
	} else {
		var err error
		if sets, err = r.Coord.Sets(ctx, req.Database); err != nil {
			return setmodel.Set{}, nil, err
		}
	}
	set, err := setmodel.ChooseSet(sets, setmodel.SetWanted{Name: req.Set, AsOf: req.AsOf, Shard: req.Shard})
	if err != nil {
		return setmodel.Set{}, nil, fmt.Errorf("%w: %w", control.ErrRejected, err)
	}
	results := map[int]setmodel.ShardResult{}
	for _, n := range set.Shards {
		res, found, err := r.Coord.readResult(ctx, set, n)
		if err != nil {
			return setmodel.Set{}, nil, err
		}
		if found {
			results[n] = res
		}
	}
	return set, results, nil
}

// Sets reads every set of a database (one LIST, then each set.json).
func (c *Coordinator) Sets(ctx context.Context, database string) ([]setmodel.Set, error) {
	sets, _, err := c.readSets(ctx, database)
	return sets, err
}

// readSets reads every set of a database, and names the folders of sets
// without a set.json. In the primary bucket a set's folder has no object
// before its set.json is written, so such a folder is what a cleanup
// stopped while deleting a set's records left (set.json goes first, its
// backups are gone by then). At a copy target results arrive before
// set.json (SetCopy): there it is a set being copied (Requests.AtCopy,
// setsBeingCopied).
func (c *Coordinator) readSets(ctx context.Context, database string) ([]setmodel.Set, []string, error) {
	ids, err := listSetIDs(ctx, c.store, c.layout, database)
	if err != nil {
		return nil, nil, err
	}
	var sets []setmodel.Set
	var leftovers []string
	for _, id := range ids {
		s, _, err := c.readSet(ctx, database, id)
		if errors.Is(err, coord.ErrNotFound) {
			leftovers = append(leftovers, id)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		sets = append(sets, s)
	}
	return sets, leftovers, nil
}

// planRestore plans the set's restore onto the cluster as it is now. Each
// source shard's backup restored (only req.Shard's, when one is asked) is
// planned by the engine (ShardPlanner): a table it refuses (consumers)
// refuses the restore, one it leaves out (consumers = 'skip') is left out
// of every step of that shard.
func (r Requests) planRestore(ctx context.Context, req control.SetRestoreRequest, set setmodel.Set, results map[int]setmodel.ShardResult,
	target string, from Source) (setmodel.RestorePlan, error) {
	topo, err := r.Topology(ctx)
	if err != nil {
		return setmodel.RestorePlan{}, fmt.Errorf("read the cluster's shards: %w", err)
	}
	var tables []setmodel.TableRow
	skip := map[int][]string{}
	for _, n := range set.Shards {
		res, ok := results[n]
		if !ok || res.State != setmodel.ShardSucceeded || res.Backup == "" || (req.Shard != 0 && n != req.Shard) {
			continue
		}
		p, err := r.Plan(ctx, from, set.Database, n, res.Backup, target, req.Consumers)
		if err != nil {
			return setmodel.RestorePlan{}, fmt.Errorf("plan the restore of shard %d's backup %s: %w", n, res.Backup, err)
		}
		if err := p.Refusal(); err != nil {
			return setmodel.RestorePlan{}, fmt.Errorf("%w: shard %d's backup %s: %w", control.ErrRejected, n, res.Backup, err)
		}
		if stopped := p.With(model.PlanStopped); len(stopped) > 0 {
			return setmodel.RestorePlan{}, fmt.Errorf("%w: shard %d's backup %s has refreshable views (%s) a set's restore does not "+
				"create stopped: say consumers = 'skip'", control.ErrRejected, n, res.Backup, strings.Join(stopped, ", "))
		}
		for _, e := range p.Tables {
			tables = append(tables, setmodel.TableRow{Database: set.Database, Name: e.Table, Engine: e.Engine})
		}
		skip[n] = p.With(model.PlanSkip)
	}
	plan, err := setmodel.PlanRestore(setmodel.RestoreInput{Set: set, Results: results, Shard: req.Shard, Target: topo, Database: target, Tables: tables})
	if err != nil {
		return setmodel.RestorePlan{}, fmt.Errorf("%w: %w", control.ErrRejected, err)
	}
	for i := range plan.Steps {
		s := &plan.Steps[i]
		s.Except = slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(s.Except), skip[s.Source]...))))
	}
	return plan, nil
}

// beginRestore writes the restore's record (If-None-Match), or goes on
// with the one there: the same set into the same target, mapped and
// stepped alike (RestoreRecord.Matches), its failed steps reopened for
// this run; started over when every step is done but the target is gone
// from this node (targetGone). It lists the restore in open.json and
// returns the record and how many steps this run has to run.
func (r Requests) beginRestore(ctx context.Context, req control.SetRestoreRequest, plan setmodel.RestorePlan, rec setmodel.RestoreRecord) (setmodel.RestoreRecord, int, error) {
	rec.RequestedBy, rec.Operator = req.RequestedBy, req.Operator
	rec.Deadline = r.Coord.now().UTC().Add(r.Coord.opts.ShardTimeout)
	key := recordKey(r.Coord.layout, rec)
	data, err := json.Marshal(rec)
	if err != nil {
		return rec, 0, fmt.Errorf("encode the restore of set %s: %w", rec.Set, err)
	}
	_, err = r.Coord.store.Put(ctx, key, data, coord.PutCondition{IfNoneMatch: true})
	switch {
	case errors.Is(err, coord.ErrPreconditionFailed):
		var mismatch error
		gone := r.targetGone(ctx, rec.Target)
		rec, err = r.Coord.updateRestore(ctx, key, func(had *setmodel.RestoreRecord) bool {
			if gone && len(had.Remaining()) == 0 && stepsHere(*had, r.Coord.self.Position) {
				*had = rec // undone since: each replica's first step needs an empty target, so nothing is doubled
				return true
			}
			var others bool
			if others, mismatch = anotherClusters(*had, rec, r.Coord.now()); mismatch != nil {
				return false
			}
			if others { // nothing of it was done here: start over
				*had = rec
				return true
			}
			if mismatch = goOnWith(*had, plan, rec); mismatch != nil {
				return false
			}
			if mismatch = anotherRequesters(*had, req, r.Coord.now()); mismatch != nil {
				return false
			}
			readFrom(had, rec) // before Reopen: a step still started may have its RESTORE running
			had.Reopen()
			had.Run, had.RequestedBy, had.Operator, had.Deadline = req.RequestID, req.RequestedBy, req.Operator, rec.Deadline
			had.TargetClusterName = rec.TargetClusterName // this cluster's, or a record from before the name was kept
			return true
		})
		if mismatch != nil {
			return rec, 0, fmt.Errorf("%w: %w", control.ErrRejected, mismatch)
		}
		if err != nil {
			return rec, 0, err
		}
	case err != nil:
		return rec, 0, fmt.Errorf("write the restore of set %s into %s: %w", rec.Set, rec.Target, err)
	}
	ran := len(rec.Remaining())
	if ran == 0 {
		return rec, 0, nil
	}
	return rec, ran, r.Coord.listRestore(ctx, rec)
}

// stillSet reads the set again (from src, whose set it is) once its
// restore is listed in open.json: a cleanup that read open.json before the
// listing may have marked it deleting since, and then the restore is taken
// off the list and refused. A cleanup reads open.json again after its
// marks (CleanupSets), so of the two one always sees the other: either
// this read sees the mark, or that read sees the listing and keeps the
// set. (Another cluster's cleanup does not read this cluster's open.json:
// this read catches a set it marked before; one it marks later fails the
// steps whose backups it deleted.)
func (r Requests) stillSet(ctx context.Context, src *Coordinator, set setmodel.Set, rec setmodel.RestoreRecord, listed int) error {
	now, _, err := src.readSet(ctx, set.Database, set.ID)
	if err == nil && now.State != setmodel.SetDeleting && rec.SourceCopy != "" {
		// A copy's set: its record is in the primary's folder of the set,
		// which a cleanup there deleting the set would take with it. (A
		// primary without the set keeps the listed record: busyRestoring.)
		primary, _, perr := r.Coord.readSet(ctx, set.Database, set.ID)
		switch {
		case errors.Is(perr, coord.ErrNotFound):
		case perr != nil:
			err = perr
		case primary.State == setmodel.SetDeleting:
			now = primary
		}
	}
	if err == nil && now.State != setmodel.SetDeleting {
		return nil
	}
	// Deleting, or not known not to be: the nodes must not go on with a
	// restore its requester is told ended.
	if listed > 0 {
		if uerr := r.Coord.unlistRestore(ctx, rec, rec.Run); uerr != nil {
			return fmt.Errorf("take the restore of set %s off the list: %w", set.ID, errors.Join(err, uerr))
		}
	}
	if err != nil {
		return fmt.Errorf("read set %s again once its restore was listed (the restore is withdrawn; ask again): %w", set.ID, err)
	}
	return fmt.Errorf("%w: set %s is being deleted by a cleanup (retention): some of its backups may be gone", control.ErrRejected, set.ID)
}

// RestoreOutcome is a restore's record as the runner answers it.
func RestoreOutcome(rec setmodel.RestoreRecord) control.SetRestoreOutcome {
	out := control.SetRestoreOutcome{Set: rec.Set, Shard: rec.Shard, SourceCluster: rec.SourceCluster, SourceCopy: rec.SourceCopy,
		Target: rec.Target, State: control.SetRestored, Notes: slices.Clone(rec.Map.Notes)}
	for _, n := range slices.Sorted(maps.Keys(rec.Missing)) {
		out.Notes = append(out.Notes, fmt.Sprintf("source shard %d not restored: %s", n, rec.Missing[n]))
	}
	for _, s := range rec.Steps {
		var rows uint64
		for _, n := range s.Adds {
			rows += n
		}
		out.Steps = append(out.Steps, control.StepOutcome{Key: s.Key, State: s.State, Node: s.Node, Rows: rows, Problem: s.Error,
			Held: s.Held})
		if s.State != setmodel.StepDone {
			out.State = control.SetRestoreFailed
		}
	}
	return out
}

// ListSets lists a database's newest sets, newest first, at most limit
// (one LIST, then each set.json): the catalog of sets.
func (r Requests) ListSets(ctx context.Context, database string, limit int) ([]control.SetSummary, error) {
	ids, err := r.SetIDs(ctx, database)
	if err != nil {
		return nil, err
	}
	slices.Reverse(ids)
	out := []control.SetSummary{}
	for _, id := range ids {
		if len(out) == limit {
			break
		}
		s, err := r.ReadSet(ctx, database, id)
		if errors.Is(err, coord.ErrNotFound) {
			continue // records a cleanup stopped part way left
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// SetIDs lists a database's sets in the bucket, oldest first (one LIST;
// set names are times).
func (r Requests) SetIDs(ctx context.Context, database string) ([]string, error) {
	return listSetIDs(ctx, r.Coord.store, r.Coord.layout, database)
}

// listSetIDs names the set folders of database in store, oldest first
// (one LIST; set names are times), set.json or not.
func listSetIDs(ctx context.Context, store coord.ObjectStore, layout Layout, database string) ([]string, error) {
	listing, err := store.List(ctx, layout.SetsRoot(database), false)
	if err != nil {
		return nil, fmt.Errorf("list the sets of %s: %w", database, err)
	}
	ids := make([]string, 0, len(listing.Folders))
	for _, f := range listing.Folders {
		id := path.Base(strings.TrimSuffix(f, "/"))
		if model.ValidateIdentifier("set", id) == nil { // no set has another name; a key with ".." in it is no set's
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// ReadSet reads one set; coord.ErrNotFound when its set.json is gone.
func (r Requests) ReadSet(ctx context.Context, database, id string) (control.SetSummary, error) {
	s, _, err := r.Coord.readSet(ctx, database, id)
	if err != nil {
		return control.SetSummary{}, err
	}
	return control.SetSummary{ID: s.ID, Database: s.Database, State: s.State, Kind: s.Kind,
		Shards: s.Shards, RequestedBy: s.RequestedBy, CreatedAt: s.CreatedAt, SealedAt: s.SealedAt, Reasons: s.Reasons,
		LastShardStart: s.LastShardStart}, nil
}
