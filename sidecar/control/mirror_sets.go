package control

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// maxSetReads bounds the set.json a mirror of one database reads: the
// newest are read first, so with more sets than that only the oldest wait
// for a later mirror.
const maxSetReads = 1000

// setMirrorEvery is how often a cluster node mirrors every database's sets
// besides after its own requests: sets are made and sealed by requests on
// any node, and a node learns of them from the bucket alone.
const setMirrorEvery = time.Minute

// mirrorSets brings the sets table of database in step with the bucket,
// on a cluster node: one LIST of the sets; each set new to the table or
// not sealed there yet is read (one GET), while a sealed set's row stands
// until the set is gone, then reads deleted. A sealed set changes only
// when a cleanup marks it deleting: reread (after this node's cleanup)
// reads every set again.
func (s *catalogMirror) mirrorSets(ctx context.Context, database string, reread bool) error {
	if s.opts.Sets == nil {
		return nil
	}
	s.setsMu.Lock()
	defer s.setsMu.Unlock()
	ids, err := s.opts.Sets.SetIDs(ctx, database)
	if err != nil {
		return err
	}
	rows, err := s.cp.SetRows(ctx, database)
	if err != nil {
		return err
	}
	have := map[string]SetSummary{}
	for _, r := range rows {
		have[r.ID] = r
	}
	changed, inBucket, err := s.readChangedSets(ctx, database, ids, have, reread)
	if err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(have)) {
		if r := have[id]; !inBucket[id] && r.State != setmodel.SetDeleted {
			r.State = setmodel.SetDeleted
			changed = append(changed, r)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	return s.cp.WriteSets(ctx, changed)
}

// readChangedSets reads, newest first, the sets of ids whose rows may be
// out of date, and returns those that changed, and which ids are in the
// bucket still (a set.json gone while its folder is listed, a cleanup's
// leftover, is not).
func (s *catalogMirror) readChangedSets(ctx context.Context, database string, ids []string,
	have map[string]SetSummary, reread bool) ([]SetSummary, map[string]bool, error) {
	var changed []SetSummary
	inBucket := map[string]bool{}
	reads := 0
	for _, id := range slices.Backward(ids) {
		inBucket[id] = true
		old, ok := have[id]
		if ok && old.SealedAt != nil && !reread {
			continue
		}
		if reads == maxSetReads {
			continue
		}
		reads++
		now, err := s.opts.Sets.ReadSet(ctx, database, id)
		if errors.Is(err, coord.ErrNotFound) {
			inBucket[id] = false
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if !ok || !sameSet(old, now) {
			changed = append(changed, now)
		}
	}
	return changed, inBucket, nil
}

// sameSet reports whether a row already says what the set says.
func sameSet(a, b SetSummary) bool {
	return a.State == b.State && a.Kind == b.Kind && slices.Equal(a.Shards, b.Shards) && a.RequestedBy == b.RequestedBy &&
		a.CreatedAt.Equal(b.CreatedAt) && (a.SealedAt == nil) == (b.SealedAt == nil) && maps.Equal(a.Reasons, b.Reasons) &&
		(a.LastShardStart == nil) == (b.LastShardStart == nil)
}

// setMirrorLoop mirrors every database's sets every setMirrorEvery until
// ctx ends.
func (s *catalogMirror) setMirrorLoop(ctx context.Context) error {
	t := time.NewTicker(setMirrorEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for _, db := range s.opts.Databases {
			s.mirrorSetsOf(ctx, db, false)
		}
	}
}

// mirrorSetsOf mirrors database's sets (mirrorSets), logging what failed:
// the next mirror tries again.
func (s *catalogMirror) mirrorSetsOf(ctx context.Context, database string, reread bool) {
	if err := s.mirrorSets(ctx, database, reread); err != nil && ctx.Err() == nil {
		s.logger.Warn("mirror the sets into the sets table", "database", database, "err", err)
	}
}
