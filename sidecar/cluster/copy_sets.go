package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// SetCopy copies the records of a database's sets to a copy target (each
// shard's result as soon as its backup is there, set.json once the set is
// sealed and whole), so that the target, read as a cluster's primary
// bucket, holds sets a restore can choose: each node copies its own shard's backups
// (the engine's copy, under the target's Engine layout) and then, here,
// its shard's result of each set and the set itself.
type SetCopy struct {
	Coord  *Coordinator
	Target coord.ObjectStore
	Layout Layout // the target's: its prefix, this cluster's id
}

// SetCopyReport is what one call of CopySets wrote at the target.
type SetCopyReport struct {
	Results int // this shard's results written
	Sets    int // set.json written: the set is whole at the target
	// Stale names sets sealed over StaleSetCopy ago still not whole at the
	// target, each with the shards whose results it lacks (at most
	// maxStaleNamed): a node of those shards copies nowhere, or cannot.
	Stale []string
	// NewestStale is when the newest of every stale set was made (not
	// only of the maxStaleNamed that Stale names; zero when none is): the
	// copy's lag as a cluster's bucket.
	NewestStale time.Time
}

// StaleSetCopy is how long after its seal a set not yet whole at a copy
// target is named in SetCopyReport.Stale: each node copies its shard
// within minutes of the set's end, or at serve's next copy round.
const StaleSetCopy = time.Hour

// maxStaleNamed bounds the sets SetCopyReport.Stale names.
const maxStaleNamed = 10

// CopySets copies to the target, for each set of database (never one
// being deleted):
//
//   - this node's shard's result, once the shard's backup of the set is
//     completed at the target (its metadata is there: a copy writes it
//     last), its folder named at the target; a result never changes, so
//     it goes while the set is still open;
//   - set.json, last, once the set is sealed (completed or partial) and
//     every shard the set holds a backup of has its result there.
//
// A restore reads a set only through its set.json, so a set at the target
// is either whole or not seen. The target is listed again after this
// node's results are written: of two nodes whose rounds end at once, each
// writes before it lists, so the later lister sees both results and
// writes the set. A set whole at the target is read again only while it
// lacks this node's result: one written after the seal (a shard's backup
// that ended past the deadline, which a restore of the set by name reads),
// or lost there since, is copied then. A set of unwanted (one the
// target's own retention would delete) is not copied.
func (s SetCopy) CopySets(ctx context.Context, database string, unwanted map[string]bool) (SetCopyReport, error) {
	var rep SetCopyReport
	there, err := s.atTarget(ctx, database)
	if err != nil {
		return rep, err
	}
	ids, err := listSetIDs(ctx, s.Coord.store, s.Coord.layout, database)
	if err != nil {
		return rep, err
	}
	own := s.Coord.self.Position.Shard
	var waiting []primarySet // sealed, their shards' results not all there when listed
	var failed []error       // one set's failure stops neither the others nor their staleness being told
	for _, id := range ids {
		if unwanted[id] || (there[id].whole && there[id].results[own]) {
			continue
		}
		set, sealed, err := s.copyResultOf(ctx, database, id, there[id], &rep)
		if err != nil {
			if failed = append(failed, err); ctx.Err() != nil {
				return rep, errors.Join(failed...)
			}
			continue
		}
		if sealed && !there[id].whole {
			waiting = append(waiting, set)
		}
	}
	if rep.Results > 0 && len(waiting) > 0 { // what others wrote meanwhile
		if there, err = s.atTarget(ctx, database); err != nil {
			return rep, errors.Join(append(failed, err)...)
		}
	}
	for _, set := range waiting {
		if err := s.completeSet(ctx, set, there[set.set.ID], &rep); err != nil {
			if failed = append(failed, err); ctx.Err() != nil {
				break
			}
		}
	}
	return rep, errors.Join(failed...)
}

// setAtTarget is what the target holds of one set.
type setAtTarget struct {
	whole   bool         // its set.json is there
	results map[int]bool // the shards whose result is there
}

// primarySet is a set of the primary (open or sealed), and its set.json
// as written.
type primarySet struct {
	set setmodel.Set
	raw []byte
}

// atTarget lists what the target holds of database's sets (one LIST).
func (s SetCopy) atTarget(ctx context.Context, database string) (map[string]setAtTarget, error) {
	root := s.Layout.SetsRoot(database)
	listing, err := s.Target.List(ctx, root, true)
	if err != nil {
		return nil, fmt.Errorf("list the sets of %s at the copy target: %w", database, err)
	}
	out := map[string]setAtTarget{}
	for _, o := range listing.Objects {
		id, name, ok := strings.Cut(strings.TrimPrefix(o.Key, root), "/")
		if !ok || strings.Contains(name, "/") {
			continue // open.json, or a restore's record
		}
		t := out[id]
		if t.results == nil {
			t.results = map[int]bool{}
		}
		if o.Key == s.Layout.SetKey(database, id) {
			t.whole = true
		} else if n, ok := resultShard(name); ok {
			t.results[n] = true
		}
		out[id] = t
	}
	return out, nil
}

// copyResultOf copies this shard's result of set id when the target lacks
// it, and returns the set when it is sealed (its set.json to be written
// once every shard's result is there). A set open when read is read again
// after this node's result is written: the node that sealed it meanwhile
// may have listed the target before that write, and then this node, which
// lists after it, writes the set.
func (s SetCopy) copyResultOf(ctx context.Context, database, id string, there setAtTarget, rep *SetCopyReport) (primarySet, bool, error) {
	set, found, err := s.readSet(ctx, database, id)
	if err != nil || !found || set.set.State == setmodel.SetDeleting {
		return primarySet{}, false, err // not found: a set being made, or what a stopped cleanup left
	}
	if own := s.Coord.self.Position.Shard; set.set.Has(own) && !there.results[own] {
		copied, err := s.copyResult(ctx, set.set)
		if err != nil {
			return primarySet{}, false, err
		}
		if copied {
			rep.Results++
			if !set.sealed() {
				if set, found, err = s.readSet(ctx, database, id); err != nil || !found {
					return primarySet{}, false, err
				}
			}
		}
	}
	return set, set.sealed(), nil
}

// readSet reads set id of the primary, with its set.json as written.
func (s SetCopy) readSet(ctx context.Context, database, id string) (primarySet, bool, error) {
	c := s.Coord
	raw, _, err := c.store.Get(ctx, c.layout.SetKey(database, id))
	if errors.Is(err, coord.ErrNotFound) {
		return primarySet{}, false, nil
	}
	if err != nil {
		return primarySet{}, false, fmt.Errorf("read set %s of %s: %w", id, database, err)
	}
	set, err := decodeSet(database, id, raw)
	if err != nil {
		return primarySet{}, false, err
	}
	return primarySet{set: set, raw: raw}, true, nil
}

func (s primarySet) sealed() bool {
	return s.set.State == setmodel.SetCompleted || s.set.State == setmodel.SetPartial
}

// completeSet writes a sealed set's set.json at the target once every
// shard the set holds a backup of has its result there, and that result's
// backup is completed there (its metadata: a result can outlive its
// backup at the target, as when a cleanup there stopped part way). It
// writes only where no set.json is: one a cleanup there marked deleting
// is never written over.
func (s SetCopy) completeSet(ctx context.Context, sealed primarySet, there setAtTarget, rep *SetCopyReport) error {
	set := sealed.set
	var lacking []int
	for _, n := range set.Shards {
		if _, noBackup := set.Reasons[coord.ShardFolder(n)]; noBackup {
			continue
		}
		ok := there.results[n]
		if ok {
			var err error
			if ok, err = s.backupThere(ctx, set, n); err != nil {
				return err
			}
		}
		if !ok {
			lacking = append(lacking, n) // its result or backup is not at the target yet
		}
	}
	if len(lacking) > 0 {
		if set.SealedAt == nil || s.Coord.now().Sub(*set.SealedAt) <= StaleSetCopy {
			return nil
		}
		if len(rep.Stale) < maxStaleNamed {
			rep.Stale = append(rep.Stale, fmt.Sprintf("%s (shards %v not copied)", set.ID, lacking))
		}
		if set.CreatedAt.After(rep.NewestStale) {
			rep.NewestStale = set.CreatedAt
		}
		return nil
	}
	_, err := s.Target.Put(ctx, s.Layout.SetKey(set.Database, set.ID), sealed.raw, coord.PutCondition{IfNoneMatch: true})
	switch {
	case errors.Is(err, coord.ErrPreconditionFailed):
		return nil // written by another node meanwhile
	case err != nil:
		return fmt.Errorf("write set %s of %s at the copy target: %w", set.ID, set.Database, err)
	}
	rep.Sets++
	return nil
}

// backupThere says whether shard n's result of set at the target names a
// backup completed there.
func (s SetCopy) backupThere(ctx context.Context, set setmodel.Set, n int) (bool, error) {
	var res setmodel.ShardResult
	found, err := readRecord(ctx, s.Target, s.Layout.ResultKey(set.Database, set.ID, n),
		fmt.Sprintf("result of shard %d of set %s at the copy target", n, set.ID), &res)
	if err != nil || !found || res.Folder == "" {
		return false, err
	}
	done, err := s.Target.Exists(ctx, coord.MetaKey(res.Folder))
	if err != nil {
		return false, fmt.Errorf("look for shard %d's backup %s at the copy target: %w", n, res.Backup, err)
	}
	return done, nil
}

// copyResult writes this shard's result of set at the target once its
// backup is completed there, naming the backup's folder at the target. It
// reports false when the backup is not there yet, or the shard has none in
// the set.
func (s SetCopy) copyResult(ctx context.Context, set setmodel.Set) (bool, error) {
	c := s.Coord
	own := c.self.Position.Shard
	res, found, err := c.readResult(ctx, set, own)
	if err != nil || !found || res.State != setmodel.ShardSucceeded || res.Backup == "" {
		return false, err
	}
	res.Folder = s.Layout.Engine(own).Folder(set.Database, res.Kind, res.Backup)
	done, err := s.Target.Exists(ctx, coord.MetaKey(res.Folder))
	if err != nil {
		return false, fmt.Errorf("look for shard %d's backup %s at the copy target: %w", own, res.Backup, err)
	}
	if !done {
		return false, nil
	}
	data, err := json.Marshal(res)
	if err != nil {
		return false, fmt.Errorf("encode shard %d's result of set %s: %w", own, set.ID, err)
	}
	if _, err := s.Target.Put(ctx, s.Layout.ResultKey(set.Database, set.ID, own), data, coord.PutCondition{}); err != nil {
		return false, fmt.Errorf("write shard %d's result of set %s at the copy target: %w", own, set.ID, err)
	}
	return true, nil
}

// resultShard is the shard whose result a set folder's object name (as
// "shard-2.json") holds; false for any other object of the folder (its
// set.json, a claim, a replica's report).
func resultShard(name string) (int, bool) {
	folder, ok := strings.CutSuffix(name, ".json")
	if !ok {
		return 0, false
	}
	n, err := coord.ShardNumber(folder)
	return n, err == nil
}
