package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// maxSetPoll bounds the pause between two reads of a set a request waits
// for: a set of hours is read every few seconds, not five times a second.
const maxSetPoll = 5 * time.Second

// awaitSet reads set until it is sealed, telling progress as shards end,
// and answers from its seal. Results, written once, are read once; the
// pause grows with the wait (setPause). A read that fails is tried again
// until the set is overdue and past the seal this wait makes then: the
// set goes on meanwhile, and a request failed on one passing error would
// say failed of a set that completes. A set that is gone (deleted) fails
// the request at once. While it waits it keeps the set listed in
// open.json and seals it once overdue (keepListed).
func (r Requests) awaitSet(ctx context.Context, set setmodel.Set, progress func(set, message string)) (control.SetOutcome, error) {
	results := map[int]setmodel.ShardResult{}
	begin, listedAt := time.Now(), r.Coord.now()
	giveUp := set.Deadline.Add(overdueGrace + 2*relistEvery)
	for {
		cur, err := r.readSetAndNewResults(ctx, set, results, progress)
		switch {
		case errors.Is(err, coord.ErrNotFound):
			return control.SetOutcome{ID: set.ID}, fmt.Errorf("set %s is gone (deleted by a cleanup?): %w", set.ID, err)
		case err == nil && cur.State != setmodel.SetOpen:
			return Outcome(cur, results), nil
		case err != nil && (ctx.Err() != nil || !r.Coord.now().Before(giveUp)):
			return control.SetOutcome{ID: set.ID}, fmt.Errorf("read set %s: %w", set.ID, err)
		case err != nil:
			r.Coord.logger.Warn("read the set a request waits for; will retry", "set", set.ID, "err", err)
		}
		if r.Coord.now().Sub(listedAt) >= relistEvery {
			listedAt = r.Coord.now()
			r.keepListed(ctx, set)
		}
		if err := sleepCtx(ctx, setPause(r.Poll, time.Since(begin))); err != nil {
			return control.SetOutcome{ID: set.ID}, err
		}
	}
}

// setPause is the pause between two reads of a set waited for elapsed:
// poll (200 ms when unset) while the set is young, then a twentieth of
// the wait, at most maxSetPoll.
func setPause(poll, elapsed time.Duration) time.Duration {
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	return min(max(poll, elapsed/20), max(poll, maxSetPoll))
}

// readSetAndNewResults reads set.json and the results not read yet into
// results, telling progress of each new one.
func (r Requests) readSetAndNewResults(ctx context.Context, set setmodel.Set, results map[int]setmodel.ShardResult,
	progress func(set, message string)) (setmodel.Set, error) {
	cur, _, err := r.Coord.readSet(ctx, set.Database, set.ID)
	if err != nil {
		return cur, err
	}
	for _, n := range cur.Shards {
		if _, ok := results[n]; ok {
			continue
		}
		res, found, err := r.Coord.readResult(ctx, cur, n)
		if unreadable(err) && cur.State != setmodel.SetOpen {
			continue // sealed without it: its seal says why
		}
		if err != nil {
			return cur, err
		}
		if found {
			results[n] = res
			progress(set.ID, fmt.Sprintf("set %s: shard %d %s (%d of %d shards done)", set.ID, n, res.State, len(results), len(cur.Shards)))
		}
	}
	return cur, nil
}

// keepListed lists the set cur (open when the wait began) in open.json
// again if it went missing there, and seals it if it is overdue, even
// when open.json cannot be read.
func (r Requests) keepListed(ctx context.Context, cur setmodel.Set) {
	err := relistSet(ctx, r.Coord, cur)
	if overdue(r.Coord, cur) {
		_, serr := sealOverdue(ctx, r.Coord, cur.Database, cur.ID)
		err = errors.Join(err, serr)
	}
	if err != nil && ctx.Err() == nil {
		r.Coord.logger.Warn("make sure the set is listed in open.json, or sealed past its deadline; will retry", "set", cur.ID, "err", err)
	}
}
