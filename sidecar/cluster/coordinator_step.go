package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// stepEvery steps every database's open sets and restores every
// interval, and at once when woken (Wake), until ctx ends: up to
// opts.DatabasesAtOnce databases at once, each one step at a time. A
// database whose step still runs (a long RESTORE, its shard's BACKUP) is
// passed over till it ends: stepped one after the other, one database's
// hours-long restore step held up every other database's sets on the
// node, whose shards went partial at their deadline. A step's error is
// logged and the next step tries again.
func stepEvery(ctx context.Context, c *Coordinator, databases []string, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	var g errgroup.Group
	g.SetLimit(max(c.opts.DatabasesAtOnce, 1))
	defer func() { _ = g.Wait() }()
	var mu sync.Mutex
	stepping := map[string]bool{}
	for {
		for _, db := range databases {
			mu.Lock()
			busy := stepping[db]
			stepping[db] = true
			mu.Unlock()
			if busy {
				continue
			}
			g.Go(func() error { // waits for a free place
				if err := c.Step(ctx, db); err != nil && ctx.Err() == nil {
					c.logger.Warn("step the open sets; will retry", "database", db, "err", err)
				}
				mu.Lock()
				delete(stepping, db)
				mu.Unlock()
				return nil
			})
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-c.wake:
		}
	}
}

// Step reads a database's open sets and restores (one GET) and, for each
// set, backs up this node's shard if no replica has, then seals the set if
// it is done or past its deadline; for each restore, runs this node's
// steps.
func (c *Coordinator) Step(ctx context.Context, database string) error {
	open, _, err := c.readOpen(ctx, database)
	if err != nil {
		return err
	}
	forgetUnlisted(c, database, open)
	var errs []error
	for _, e := range open.Sets {
		if err := c.stepSet(ctx, database, e); err != nil {
			errs = append(errs, err)
		}
	}
	for _, e := range open.Restores {
		if err := (nodeSteps{c}).step(ctx, database, e); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *Coordinator) stepSet(ctx context.Context, database string, e setmodel.OpenEntry) error {
	cur, err := c.openSet(ctx, database, e.ID)
	if errors.Is(err, coord.ErrNotFound) {
		if c.now().After(e.Deadline) { // its creator stopped before it wrote set.json
			return c.unlist(ctx, database, e.ID, setmodel.Set{})
		}
		return nil
	}
	if err != nil {
		return err
	}
	if cur.set.State != setmodel.SetOpen {
		return c.unlist(ctx, database, e.ID, cur.set)
	}
	if oursToWork(c, cur.set) {
		if err := c.work(ctx, cur.set); err != nil {
			return err
		}
	}
	return c.trySeal(ctx, cur)
}

// openSet is a set as last read: set.json changes only when it is sealed,
// and the seal's conditional write finds out if it was. Past its deadline
// a set is read on every step: by then another sidecar has likely sealed
// it partial, and a set this sidecar still took for open would have its
// shard backed up again, and its seal's verdict noted, for nothing (the
// set listed again after its seal: a bucket rolled back).
func (c *Coordinator) openSet(ctx context.Context, database, id string) (openSet, error) {
	c.mu.Lock()
	cur, ok := c.sets[database+"/"+id]
	c.mu.Unlock()
	if ok && c.now().Before(cur.set.Deadline) {
		return cur, nil
	}
	set, etag, err := c.readSet(ctx, database, id)
	if err != nil {
		return openSet{}, err
	}
	cur = openSet{set: set, etag: etag}
	if set.State == setmodel.SetOpen {
		c.mu.Lock()
		c.sets[database+"/"+id] = cur
		c.mu.Unlock()
	}
	return cur, nil
}

// work backs up this node's shard of set, unless it has a result, failed
// here already (attempts), or another replica holds its claim. The claim
// is a lease: the holder's renewals are its heartbeats, and a claim not
// renewed in time is taken over by the next replica that steps.
func (c *Coordinator) work(ctx context.Context, set setmodel.Set) error {
	shard := c.self.Position.Shard
	if _, found, err := c.result(ctx, set, shard); err != nil || found {
		return err
	}
	failed, err := attempts{c}.failed(ctx, set, shard)
	if err != nil {
		return err
	}
	if settled, err := (attempts{c}).settle(ctx, set, shard, failed); err != nil || settled {
		return err
	}
	if _, tried := failed[c.self.Position.Replica]; tried {
		return nil // it failed here: another replica of the shard tries it
	}
	if ok, err := (replicaGate{c}).mayClaim(ctx, set, shard, failed); err != nil || !ok {
		return err // another replica is fitter: it claims first
	}
	purpose := fmt.Sprintf("backup of shard %d (replica %d) for set %s", shard, c.self.Position.Replica, set.ID)
	claim, err := coord.AcquireLease(ctx, c.store, c.layout.ClaimKey(set.Database, set.ID, shard), c.self.Holder,
		purpose, c.opts.ClaimTTL, c.now, c.logger)
	var held *coord.LeaseHeldError
	if errors.As(err, &held) {
		return nil // another replica works it, and its heartbeat is fresh
	}
	if err != nil {
		return fmt.Errorf("claim shard %d of set %s: %w", shard, set.ID, err)
	}
	return claim.Hold(ctx, func(ctx context.Context) error { return c.backup(ctx, set, shard) })
}

// backup runs the shard's backup under its claim and records how it went.
func (c *Coordinator) backup(ctx context.Context, set setmodel.Set, shard int) error {
	// The holder before us may have finished and stopped before it let go
	// of the claim: its result stands.
	if _, found, err := c.result(ctx, set, shard); err != nil || found {
		return err
	}
	c.logger.Info("backing up this shard for a set", "database", set.Database, "set", set.ID, "shard", shard, "kind", set.Kind)
	start := c.now().UTC()
	job := Job{Set: set, Shard: shard, RequestID: shardRequestID(set, shard, c.self.Holder.Name)}
	res, err := c.exec.BackupShard(ctx, job)
	if ctx.Err() != nil {
		// Stopping, or the claim was lost: no result, so the shard is
		// taken again (by us after a restart, adopting our backup).
		return fmt.Errorf("back up shard %d of set %s: %w", shard, set.ID, ctx.Err())
	}
	res.Version, res.Set, res.Database, res.Shard = setmodel.SetVersion, set.ID, set.Database, shard
	res.Replica, res.Node = c.self.Position.Replica, c.self.Holder.Name
	res.StartedAt, res.FinishedAt = start, c.now().UTC()
	res.State = setmodel.ShardSucceeded
	if err != nil {
		res.State, res.Error = setmodel.ShardFailed, err.Error()
		if errors.Is(err, ErrRejected) {
			res.State = setmodel.ShardRejected
		}
	}
	res, last, err := attempts{c}.conclude(ctx, set, shard, res)
	if err != nil || !last {
		return err // another replica of the shard tries it
	}
	return writeResult(ctx, c, res)
}

// writeResult writes a shard's result of a set, once: a result written
// first by another sidecar stands.
func writeResult(ctx context.Context, c *Coordinator, res setmodel.ShardResult) error {
	data, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encode result of shard %d of set %s: %w", res.Shard, res.Set, err)
	}
	_, err = c.store.Put(ctx, c.layout.ResultKey(res.Database, res.Set, res.Shard), data, coord.PutCondition{IfNoneMatch: true})
	if err != nil && !errors.Is(err, coord.ErrPreconditionFailed) {
		return fmt.Errorf("write result of shard %d of set %s: %w", res.Shard, res.Set, err)
	}
	c.logger.Info("shard's backup for a set ended", "database", res.Database, "set", res.Set, "shard", res.Shard,
		"state", res.State, "backup", res.Backup, "error", res.Error)
	recorded(c, res.Database)
	return nil
}

// recorded tells Options.Recorded that c wrote a set's record.
func recorded(c *Coordinator, database string) {
	if c.opts.Recorded != nil {
		c.opts.Recorded(database)
	}
}

// shardRequestID names a shard's backup of a set by this sidecar.
func shardRequestID(set setmodel.Set, shard int, holder string) string {
	name := fmt.Sprintf("clickvault set %s/%s/%s/%s", set.ClusterID, set.Database, set.ID, coord.ShardFolder(shard)) + " by " + holder
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)).String()
}

// result reads shard n's result of an open set, once: a result never
// changes. The cache is dropped when the set is sealed.
func (c *Coordinator) result(ctx context.Context, set setmodel.Set, shard int) (setmodel.ShardResult, bool, error) {
	key := set.Database + "/" + set.ID
	c.mu.Lock()
	r, ok := c.results[key][shard]
	c.mu.Unlock()
	if ok {
		return r, true, nil
	}
	r, found, err := c.readResult(ctx, set, shard)
	if err != nil || !found {
		return r, found, err
	}
	c.mu.Lock()
	if c.results[key] == nil {
		c.results[key] = map[int]setmodel.ShardResult{}
	}
	c.results[key][shard] = r
	c.mu.Unlock()
	return r, true, nil
}

// readResult reads shard n's result of a set.
func (c *Coordinator) readResult(ctx context.Context, set setmodel.Set, shard int) (setmodel.ShardResult, bool, error) {
	var r setmodel.ShardResult
	found, err := readRecord(ctx, c.store, c.layout.ResultKey(set.Database, set.ID, shard),
		fmt.Sprintf("result of shard %d of set %s", shard, set.ID), &r)
	if err != nil || !found {
		return setmodel.ShardResult{}, false, err
	}
	return r, true, nil
}

// readRecord reads the record at key into v (decode), reporting false
// when there is none; what names it in errors.
func readRecord(ctx context.Context, store coord.ObjectStore, key, what string, v any) (bool, error) {
	data, _, err := store.Get(ctx, key)
	if errors.Is(err, coord.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", what, err)
	}
	if err := setmodel.Decode(what, data, v); err != nil {
		return true, &unreadableError{err}
	}
	return true, nil
}

// unreadableError is a record that is there but this sidecar cannot read
// (a newer sidecar's version, a truncated object): reading it again gets
// the same answer.
type unreadableError struct{ err error }

func (e *unreadableError) Error() string { return e.err.Error() }
func (e *unreadableError) Unwrap() error { return e.err }

// unreadable reports whether err is a record this sidecar cannot read.
func unreadable(err error) bool {
	var u *unreadableError
	return errors.As(err, &u)
}
