package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// ShardChains are the shards' own chains, as retention of sets reads and
// deletes them: every shard's folder is in the bucket, so any node cleans
// up every shard.
type ShardChains interface {
	// Links are a shard's backups, each with its base.
	Links(ctx context.Context, database string, shard int) ([]setmodel.Link, error)
	// Delete deletes a shard's backups in the order given (each before
	// those it is built on), under the shard's chain lease; it returns
	// those deleted.
	Delete(ctx context.Context, database string, shard int, names []string) ([]string, error)
}

// CleanupSets applies retention to a database's sets (PlanSetRetention):
// whole sets are kept or deleted, and a shard's backup is deleted only
// when no kept set needs it. A set being restored is kept. Each set to
// delete is first marked deleting (no restore chooses it from then on),
// then each shard's backups go, under its lease, and a set's records go
// last, once every backup it named is gone. A cleanup stopped part way
// leaves sets marked deleting, which the next one finishes. It also
// deletes the set-requests/ records older than the requests' retention
// (deleteOldRequestRecords); one it cannot is a problem said, not an
// error.
func (r Requests) CleanupSets(ctx context.Context, database string, dryRun bool) (control.SetCleanupOutcome, error) {
	out := control.SetCleanupOutcome{DryRun: dryRun, DeletedBackups: map[int][]string{}}
	st, err := r.setsState(ctx, database)
	if err == nil && !r.AtCopy { // a copy's open sets are those being copied: the primary's to seal
		st, err = r.sealStranded(ctx, database, st, dryRun, &out)
	}
	if err != nil {
		return out, err
	}
	plan := setmodel.PlanSetRetention(st, r.Policy, r.Coord.now())
	out.KeptSets = len(plan.Keep)
	out.Problems = append(out.Problems, st.Unreadable...)
	out.Problems = append(out.Problems, plan.Problems...)
	if err := r.deleteOldRequestRecords(ctx, database, dryRun, &out); err != nil {
		out.Problems = append(out.Problems, err.Error()) // the sets' retention goes on: these are a few small objects
	}
	if dryRun {
		out.DeletedSets = plan.DeleteSets
		for n, names := range plan.DeleteLinks {
			out.DeletedBackups[n] = names
		}
		return out, nil
	}
	for _, id := range plan.DeleteSets {
		if err := r.markDeleting(ctx, database, id, plan.SetLinks[id]); err != nil {
			return out, err
		}
	}
	// A restore listed since open.json was read either sees the marks
	// (RestoreSet reads its set again once listed) or is seen now, and
	// its set kept: whichever came first, no restore reads a set whose
	// backups go.
	var busy map[string]string
	if plan, busy, err = r.replanWithRestores(ctx, database, st); err != nil {
		return out, err
	}
	out.KeptSets = len(plan.Keep)
	for _, id := range st.Leftovers { // records a cleanup stopped while deleting them left
		if _, restoring := busy[id]; restoring {
			continue // a restore from a copy target of a set the primary lacks keeps its record here
		}
		if err := r.deleteSetRecords(ctx, database, id); err != nil {
			return out, err
		}
	}
	gone, errs := r.deleteLinks(ctx, database, plan, &out)
	for _, id := range plan.DeleteSets {
		if left := linksLeft(plan.SetLinks[id], gone); left != "" {
			out.Problems = append(out.Problems, fmt.Sprintf("set %s is marked deleting, its records kept until %s go: "+
				"the next cleanup deletes them", id, left))
			continue
		}
		if err := r.deleteSetRecords(ctx, database, id); err != nil {
			errs = append(errs, err)
			continue
		}
		out.DeletedSets = append(out.DeletedSets, id)
	}
	return out, errors.Join(errs...)
}

// RetentionPlan is what CleanupSets would keep and delete of database's
// sets now, by r.Policy; it writes nothing. A copy round plans a copy
// target's own retention with it, on the primary's sets, and sends
// nothing the target's cleanup would delete.
func (r Requests) RetentionPlan(ctx context.Context, database string) (setmodel.SetRetentionPlan, error) {
	st, err := r.setsState(ctx, database)
	if err != nil {
		return setmodel.SetRetentionPlan{}, err
	}
	return setmodel.PlanSetRetention(st, r.Policy, r.Coord.now()), nil
}

// deleteLinks deletes each shard's links of the plan, noting them in out;
// gone are those deleted, per shard.
func (r Requests) deleteLinks(ctx context.Context, database string, plan setmodel.SetRetentionPlan,
	out *control.SetCleanupOutcome) (map[int]map[string]bool, []error) {
	gone := map[int]map[string]bool{}
	var errs []error
	for _, n := range slices.Sorted(maps.Keys(plan.DeleteLinks)) {
		deleted, err := r.Chains.Delete(ctx, database, n, plan.DeleteLinks[n])
		if len(deleted) > 0 {
			out.DeletedBackups[n] = deleted
		}
		gone[n] = map[string]bool{}
		for _, name := range deleted {
			gone[n][name] = true
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("delete shard %d's backups: %w", n, err))
		}
	}
	return gone, errs
}

// linksLeft names the links of a set (shard → names) not gone, "" when
// every one is.
func linksLeft(links map[int][]string, gone map[int]map[string]bool) string {
	var left []string
	for _, n := range slices.Sorted(maps.Keys(links)) {
		for _, name := range links[n] {
			if !gone[n][name] {
				left = append(left, fmt.Sprintf("shard %d's %s", n, name))
			}
		}
	}
	return strings.Join(left, ", ")
}

// markDeleting rewrites a set's set.json as deleting (If-Match), with the
// links the cleanup is to delete with it, unless it is already: from then
// on no restore chooses it, no policy keeps it, and it names those links
// until they are gone.
func (r Requests) markDeleting(ctx context.Context, database, id string, links map[int][]string) error {
	set, etag, err := r.Coord.readSet(ctx, database, id)
	if err != nil {
		return fmt.Errorf("mark set %s deleting: %w", id, err)
	}
	if set.State == setmodel.SetDeleting {
		return nil // marked by an earlier cleanup, with the links it was to delete
	}
	set.State, set.Deleting = setmodel.SetDeleting, map[string][]string{}
	for n, names := range links {
		set.Deleting[coord.ShardFolder(n)] = names
	}
	data, err := json.Marshal(set)
	if err != nil {
		return fmt.Errorf("encode set %s: %w", id, err)
	}
	if _, err := r.Coord.store.Put(ctx, r.Coord.layout.SetKey(database, id), data, coord.PutCondition{IfMatch: etag}); err != nil {
		return fmt.Errorf("mark set %s deleting (another cleanup ran at once? the next one retries): %w", id, err)
	}
	return nil
}

// busyRestoring marks busy the sets of this cluster being restored; a
// restore of another cluster's set (SourceCluster) holds none of them,
// whatever its set's name.
func busyRestoring(busy map[string]string, restores []setmodel.OpenRestore) {
	for _, e := range restores {
		if e.SourceCluster == "" {
			busy[e.Set] = "being restored into " + e.Target + " by request " + e.Run
		}
	}
}

// replanWithRestores plans again with the restores listed now, and says
// which sets they keep.
func (r Requests) replanWithRestores(ctx context.Context, database string, st setmodel.SetsState) (setmodel.SetRetentionPlan, map[string]string, error) {
	restores, err := r.restoresNow(ctx, database)
	if err != nil {
		return setmodel.SetRetentionPlan{}, nil, err
	}
	busy := map[string]string{}
	for id, why := range st.Busy {
		if why == sealedByThisCleanup { // not a restore's: kept whatever open.json says now
			busy[id] = why
		}
	}
	st.Busy = busy
	busyRestoring(st.Busy, restores)
	return setmodel.PlanSetRetention(st, r.Policy, r.Coord.now()), st.Busy, nil
}

// restoresNow are the restores being run of database's sets: those
// open.json lists and, at a copy target, those the primary's lists
// reading it (RestoresReading).
func (r Requests) restoresNow(ctx context.Context, database string) ([]setmodel.OpenRestore, error) {
	open, _, err := r.Coord.readOpen(ctx, database)
	if err != nil {
		return nil, err
	}
	if r.ReadingThis == nil {
		return open.Restores, nil
	}
	elsewhere, err := r.ReadingThis(ctx, database)
	if err != nil {
		return nil, fmt.Errorf("read the restores reading this copy target: %w", err)
	}
	return append(open.Restores, elsewhere...), nil
}

// RestoresReading are the restores of database's sets the primary's
// open.json lists reading copy target copyName: a cleanup at that target
// keeps their sets (Requests.ReadingThis).
func (r Requests) RestoresReading(ctx context.Context, database, copyName string) ([]setmodel.OpenRestore, error) {
	open, _, err := r.Coord.readOpen(ctx, database)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(open.Restores, func(e setmodel.OpenRestore) bool { return e.SourceCopy != copyName }), nil
}

// setsState reads what set retention plans from: the sets, their shards'
// results, each shard's links, and the sets being restored.
func (r Requests) setsState(ctx context.Context, database string) (setmodel.SetsState, error) {
	sets, leftovers, err := r.Coord.readSets(ctx, database)
	if err != nil {
		return setmodel.SetsState{}, err
	}
	if r.AtCopy { // sets being copied: kept whole, as open sets are
		var being []setmodel.Set
		if being, leftovers, err = r.setsBeingCopied(ctx, database, leftovers); err != nil {
			return setmodel.SetsState{}, err
		}
		sets = append(sets, being...)
	}
	restores, err := r.restoresNow(ctx, database)
	if err != nil {
		return setmodel.SetsState{}, err
	}
	st := setmodel.SetsState{Sets: sets, Results: map[string]map[int]setmodel.ShardResult{}, Links: map[int][]setmodel.Link{}, Busy: map[string]string{},
		Leftovers: leftovers}
	busyRestoring(st.Busy, restores)
	shards := map[int]bool{}
	for _, s := range sets {
		st.Results[s.ID] = map[int]setmodel.ShardResult{}
		for _, n := range s.Shards {
			shards[n] = true
			res, found, err := r.Coord.readResult(ctx, s, n)
			if unreadable(err) {
				st.Unreadable = append(st.Unreadable, err.Error()+" (planned without it; the backup it names is kept)")
				continue
			}
			if err != nil {
				return setmodel.SetsState{}, err
			}
			if found {
				st.Results[s.ID][n] = res
			}
		}
	}
	for n := range shards {
		if st.Links[n], err = r.Chains.Links(ctx, database, n); err != nil {
			return setmodel.SetsState{}, fmt.Errorf("read shard %d's backups: %w", n, err)
		}
	}
	return st, nil
}

// setsBeingCopied are, at a copy target, the set folders without a
// set.json: results arrive there before it (SetCopy), so each is a set
// being copied, read as an open set of the shards whose results are
// there. Retention keeps an open set and every backup its results rest
// on: the cleanup deletes neither its records nor the chains it will need
// once whole. A folder made over beingCopiedFor ago is no longer taken
// for one (a node of its set copies nowhere, the primary deleted it
// first, or a cleanup stopped part way): it is a leftover, its records
// deleted and its backups with the sets they belong to; a round sends
// again what the primary still has and wants.
func (r Requests) setsBeingCopied(ctx context.Context, database string, ids []string) (being []setmodel.Set, leftovers []string, err error) {
	for _, id := range ids {
		if made, err := model.ParseName(id); err == nil && r.Coord.now().Sub(made) > beingCopiedFor {
			leftovers = append(leftovers, id)
			continue
		}
		root := r.Coord.layout.SetRoot(database, id)
		listing, err := r.Coord.store.List(ctx, root, false)
		if err != nil {
			return nil, nil, fmt.Errorf("list set %s being copied: %w", id, err)
		}
		set := setmodel.Set{ID: id, Database: database, State: setmodel.SetOpen}
		for _, o := range listing.Objects {
			if n, ok := resultShard(strings.TrimPrefix(o.Key, root)); ok {
				set.Shards = append(set.Shards, n)
			}
		}
		being = append(being, set)
	}
	return being, leftovers, nil
}

// beingCopiedFor is how long after it was made a set not yet whole at a
// copy target is taken for one being copied: days past the hour after
// which each round warns of it (StaleSetCopy).
const beingCopiedFor = 3 * 24 * time.Hour

// deleteSetRecords deletes a set's records: set.json first (from then on
// no restore or cleanup reads the set), then the rest of its folder. Its
// backups are gone by then, or it is a leftover of an older cleanup.
func (r Requests) deleteSetRecords(ctx context.Context, database, id string) error {
	root := r.Coord.layout.SetRoot(database, id)
	listing, err := r.Coord.store.List(ctx, root, true)
	if err != nil {
		return fmt.Errorf("list set %s: %w", id, err)
	}
	keys := []string{r.Coord.layout.SetKey(database, id)}
	for _, o := range listing.Objects {
		if o.Key != keys[0] && strings.HasPrefix(o.Key, root) {
			keys = append(keys, o.Key)
		}
	}
	if err := r.Coord.store.Delete(ctx, keys); err != nil && !errors.Is(err, coord.ErrNotFound) {
		return fmt.Errorf("delete set %s: %w", id, err)
	}
	return nil
}
