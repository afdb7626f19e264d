package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// awaitRestore reads the restore's record until every step has ended or
// the deadline has passed, telling progress as steps end, then takes the
// restore off open.json. A stopping sidecar (ctx ended) leaves it listed:
// the nodes go on, and the request is resumed after the restart. A
// restore missing from open.json is listed again, and then must pass
// still (the set not being deleted) as when it was first listed; one
// whose record is gone is taken off open.json and fails.
func (r Requests) awaitRestore(ctx context.Context, rec setmodel.RestoreRecord, progress func(set, message string),
	still func(context.Context, setmodel.RestoreRecord) error) (setmodel.RestoreRecord, error) {
	begin := time.Now()
	key := recordKey(r.Coord.layout, rec)
	run, told := rec.Run, map[string]setmodel.StepState{}
	listedAt := r.Coord.now()
	for {
		cur, _, err := r.Coord.readRestore(ctx, key)
		if errors.Is(err, coord.ErrNotFound) {
			// Deleted (its set's folder with it): the nodes, which find
			// no record, must not fail on it every poll until the
			// entry's deadline.
			err = fmt.Errorf("the restore's record is gone (its set deleted by a cleanup?); ask again to restore another set: %w", err)
			return rec, errors.Join(err, r.Coord.unlistRestore(context.WithoutCancel(ctx), rec, run))
		}
		if err != nil {
			return rec, err
		}
		rec = cur
		for _, s := range rec.Steps {
			if s.State != told[s.Key] && s.State != setmodel.StepPending {
				told[s.Key] = s.State
				progress(rec.Set, fmt.Sprintf("restore of set %s into %s: step %s %s%s", rec.Set, rec.Target, s.Key, s.State, onNode(s)))
			}
		}
		overdue := !r.Coord.now().Before(rec.Deadline)
		if rec.Ended() || overdue {
			if overdue && !rec.Ended() {
				notRunBy(&rec, rec.Deadline)
			}
			return rec, r.Coord.unlistRestore(context.WithoutCancel(ctx), rec, run)
		}
		if r.Coord.now().Sub(listedAt) >= relistEvery {
			listedAt = r.Coord.now()
			relisted, err := relistRestore(ctx, r.Coord, rec, run)
			if err != nil && ctx.Err() == nil {
				r.Coord.logger.Warn("make sure the restore is listed in open.json; will retry", "set", rec.Set, "target", rec.Target, "err", err)
			}
			if relisted {
				if err := still(ctx, rec); err != nil {
					return rec, err
				}
			}
		}
		if err := sleepCtx(ctx, setPause(r.Poll, time.Since(begin))); err != nil {
			return rec, err
		}
	}
}

// notRunBy marks, in the answer only, the steps not ended by the deadline:
// the record keeps them as they are, for the next run to go on from.
func notRunBy(rec *setmodel.RestoreRecord, deadline time.Time) {
	for i := range rec.Steps {
		s := &rec.Steps[i]
		if s.State == setmodel.StepPending || s.State == setmodel.StepStarted {
			s.Error = fmt.Sprintf("not ended by the deadline %s (the node's sidecar down, or the RESTORE still running); "+
				"run the same restore again to go on", deadline.UTC().Format(time.RFC3339))
		}
	}
}

func onNode(s setmodel.StepRecord) string {
	out := ""
	if s.Node != "" {
		out = " on " + s.Node
	}
	if s.Error != "" {
		out += ": " + s.Error
	}
	return out
}

// listRestore lists a restore in open.json, for the run rec.Run, so every
// node runs its steps.
func (c *Coordinator) listRestore(ctx context.Context, rec setmodel.RestoreRecord) error {
	entry := openRestoreOf(rec)
	return c.updateOpen(ctx, rec.Database, func(open *setmodel.OpenSets) bool {
		for i, e := range open.Restores {
			if sameRestore(e, rec) {
				if e == entry {
					return false
				}
				open.Restores[i] = entry
				return true
			}
		}
		open.Restores = append(open.Restores, entry)
		return true
	})
}

// openRestoreOf is the open.json entry of rec's restore, for its run.
func openRestoreOf(rec setmodel.RestoreRecord) setmodel.OpenRestore {
	return setmodel.OpenRestore{Set: rec.Set, Target: rec.Target, TargetCluster: rec.TargetCluster, SourceCluster: rec.SourceCluster,
		SourceCopy: rec.SourceCopy, Shard: rec.Shard, Run: rec.Run, Deadline: rec.Deadline}
}

// unlistRestore takes the restore off open.json if the run run still
// holds it (a later request may have taken it over).
func (c *Coordinator) unlistRestore(ctx context.Context, rec setmodel.RestoreRecord, run string) error {
	return c.updateOpen(ctx, rec.Database, func(open *setmodel.OpenSets) bool {
		for i, e := range open.Restores {
			if sameRestore(e, rec) && e.Run == run {
				open.Restores = append(open.Restores[:i:i], open.Restores[i+1:]...)
				return true
			}
		}
		return false
	})
}

// readRestore reads a restore's record.
func (c *Coordinator) readRestore(ctx context.Context, key string) (setmodel.RestoreRecord, string, error) {
	data, etag, err := c.store.Get(ctx, key)
	if err != nil {
		return setmodel.RestoreRecord{}, "", fmt.Errorf("read the restore record %s: %w", key, err)
	}
	var rec setmodel.RestoreRecord
	if err := setmodel.Decode("the restore record "+key, data, &rec); err != nil {
		return setmodel.RestoreRecord{}, "", err
	}
	return rec, etag, nil
}

// updateRestore changes a restore's record with a conditional write,
// reading it again and redoing the change when another sidecar wrote it
// in between (each node writes its own steps). change reports whether it
// changed anything.
func (c *Coordinator) updateRestore(ctx context.Context, key string, change func(*setmodel.RestoreRecord) bool) (setmodel.RestoreRecord, error) {
	for attempt := 0; attempt < 20; attempt++ {
		rec, etag, err := c.readRestore(ctx, key)
		if err != nil {
			return rec, err
		}
		if !change(&rec) {
			return rec, nil
		}
		data, err := json.Marshal(rec)
		if err != nil {
			return rec, fmt.Errorf("encode the restore record %s: %w", key, err)
		}
		_, err = c.store.Put(ctx, key, data, coord.PutCondition{IfMatch: etag})
		if !coord.ConditionLost(err) { // deleted meanwhile: the next read says so
			if err != nil {
				return rec, fmt.Errorf("write the restore record %s: %w", key, err)
			}
			return rec, nil
		}
		if err := sleepCtx(ctx, time.Duration(attempt+1)*10*time.Millisecond); err != nil {
			return rec, err
		}
	}
	return setmodel.RestoreRecord{}, fmt.Errorf("write the restore record %s: it kept changing under this sidecar", key)
}

// recordKey is where a restore's record is: in its set's folder when the
// set is the cluster's own, else in this cluster's folder (l is its
// layout; ClusterLayout.SourceRestoreKey).
func recordKey(l Layout, rec setmodel.RestoreRecord) string {
	if rec.SourceCluster != "" {
		return l.SourceRestoreKey(rec.Database, rec.SourceCluster, rec.Set, rec.Target, rec.Shard)
	}
	return l.RestoreKey(rec.Database, rec.Set, rec.TargetCluster, rec.Target, rec.Shard)
}

// entryRecord is the restore an open.json entry lists, as far as the
// entry tells it (enough for its record's key and its unlisting).
func entryRecord(database string, e setmodel.OpenRestore) setmodel.RestoreRecord {
	return setmodel.RestoreRecord{Database: database, Set: e.Set, Target: e.Target, TargetCluster: e.TargetCluster,
		SourceCluster: e.SourceCluster, Shard: e.Shard}
}

// sameRestore reports whether an open.json entry lists rec's restore
// (whichever run holds it).
func sameRestore(e setmodel.OpenRestore, rec setmodel.RestoreRecord) bool {
	return e.Set == rec.Set && e.Target == rec.Target && e.TargetCluster == rec.TargetCluster &&
		e.SourceCluster == rec.SourceCluster && e.Shard == rec.Shard
}
