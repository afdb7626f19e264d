package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// trySeal seals a set once every shard has a result, or once its deadline
// has passed: completed when every shard succeeded, else partial with a
// reason per shard. Any sidecar may; the conditional write lets one win.
func (c *Coordinator) trySeal(ctx context.Context, cur openSet) error {
	set := cur.set
	results := map[int]setmodel.ShardResult{}
	why := map[int]string{}
	var missing []int
	for _, n := range set.Shards {
		r, found, err := c.result(ctx, set, n)
		if unreadable(err) && overdue(c, set) { // the set must end: that shard without a result
			why[n], found, err = "its result cannot be read: "+err.Error(), false, nil
		}
		if err != nil {
			return err
		}
		if found {
			results[n] = r
		} else {
			missing = append(missing, n)
		}
	}
	now := c.now().UTC()
	if len(missing) > 0 && now.Before(set.Deadline) {
		return nil
	}
	for _, n := range missing {
		if why[n] == "" {
			why[n] = c.missingReason(ctx, set, n)
		}
	}
	sealed := Sealed(set, results, why, c.self.Holder.Name, now)
	if err := c.noteLastFull(ctx, sealed); err != nil {
		if !overdue(c, set) {
			return err // not sealed yet: the next step tries again
		}
		// Overdue, the set must end even when open.json cannot be
		// written or read (a newer sidecar's, a truncated object). Its
		// unlisting notes it again; until then a set asked for may be a
		// full where an incremental would do, which costs bytes, not a
		// chain.
		c.logger.Warn("sealing the set without noting it as the newest full set in open.json",
			"database", set.Database, "set", set.ID, "err", err)
	}
	data, err := json.Marshal(sealed)
	if err != nil {
		return fmt.Errorf("encode set %s: %w", set.ID, err)
	}
	_, err = c.store.Put(ctx, c.layout.SetKey(set.Database, set.ID), data, coord.PutCondition{IfMatch: cur.etag})
	c.forget(set)
	if coord.ConditionLost(err) {
		return nil // sealed by another sidecar (the next step reads its seal and unlists it), or deleted (unlisted past its deadline)
	}
	if err != nil {
		return fmt.Errorf("seal set %s of %s: %w", set.ID, set.Database, err)
	}
	c.logger.Info("set sealed", "database", set.Database, "set", set.ID, "state", sealed.State, "reasons", sealed.Reasons)
	recorded(c, set.Database)
	return c.unlist(ctx, set.Database, set.ID, sealed)
}

// Sealed is set sealed with the shards' results; why says, for each shard
// without a result, why it has none.
func Sealed(set setmodel.Set, results map[int]setmodel.ShardResult, why map[int]string, by string, at time.Time) setmodel.Set {
	set.State, set.SealedBy, set.SealedAt, set.Reasons = setmodel.SetCompleted, by, &at, nil
	for _, n := range set.Shards {
		r, ok := results[n]
		var reason string
		switch {
		case !ok:
			reason = why[n]
			if reason == "" {
				reason = "no result"
			}
		case r.State != setmodel.ShardSucceeded:
			reason = fmt.Sprintf("%s on %s: %s", r.State, r.Node, r.Error)
		default:
			if started := dataStart(r); set.LastShardStart == nil || started.After(*set.LastShardStart) {
				set.LastShardStart = &started
			}
			continue
		}
		if set.Reasons == nil {
			set.Reasons = map[string]string{}
		}
		set.State, set.Reasons[coord.ShardFolder(n)] = setmodel.SetPartial, reason
	}
	return set
}

// dataStart is when a shard's backup began to take its rows: the later of
// its result's start (taken when the shard was claimed) and its backup's
// name (the time the BACKUP was named, after the replica's SYNC REPLICA and
// the chain's lease, which may take minutes and bring in newer rows).
func dataStart(r setmodel.ShardResult) time.Time {
	if named, err := model.ParseName(r.Backup); err == nil && named.After(r.StartedAt) {
		return named.UTC()
	}
	return r.StartedAt
}

// missingReason says why shard n of a set past its deadline has no result:
// who held its claim and until when, or that no replica claimed it, and
// the replicas whose backup of it failed, if any did.
func (c *Coordinator) missingReason(ctx context.Context, set setmodel.Set, n int) string {
	reason := c.claimReason(ctx, set, n)
	failed, err := (attempts{c}).failed(ctx, set, n)
	if err == nil && len(failed) > 0 {
		reason += "; failed before on " + describeAttempts(failed)
	}
	if refused := (replicaGate{c}).refusals(ctx, set, n, failed); refused != "" {
		reason += "; no replica left fit to back it up: " + refused
	}
	return reason
}

// claimReason says who held shard n's claim of a set past its deadline
// and until when, or that no replica claimed it.
func (c *Coordinator) claimReason(ctx context.Context, set setmodel.Set, n int) string {
	deadline := set.Deadline.Format(time.RFC3339)
	data, _, err := c.store.Get(ctx, c.layout.ClaimKey(set.Database, set.ID, n))
	var info coord.LeaseInfo
	switch {
	case errors.Is(err, coord.ErrNotFound):
		return fmt.Sprintf("no replica of shard %d took it by the deadline %s (every replica down, or its sidecar not running)", n, deadline)
	case err != nil || json.Unmarshal(data, &info) != nil:
		return fmt.Sprintf("no result by the deadline %s", deadline)
	}
	return fmt.Sprintf("no result by the deadline %s: %s held it, heartbeat valid until %s", deadline, info.Holder,
		info.ExpiresAt.UTC().Format(time.RFC3339))
}

// noteLastFull notes a completed full set in open.json before its seal is
// written: whoever reads the set completed (a requester answered, a test)
// and asks for the next set at once finds it there and gets an
// incremental, not a second full. (Noted at unlist only, a set read
// completed before it was unlisted made the next one full.) A partial
// seal that another sidecar writes at the deadline, racing this verdict,
// leaves it noted: the next full set then comes one period later, and no
// restore picks a partial set.
func (c *Coordinator) noteLastFull(ctx context.Context, sealed setmodel.Set) error {
	if sealed.State != setmodel.SetCompleted || sealed.Kind != setmodel.KindFull {
		return nil
	}
	err := c.updateOpen(ctx, sealed.Database, func(open *setmodel.OpenSets) bool { return open.NoteFull(sealed) })
	if err != nil {
		return fmt.Errorf("note full set %s of %s as the newest: %w", sealed.ID, sealed.Database, err)
	}
	return nil
}

// unlist drops a sealed set (or an entry whose set.json never came) from
// open.json, and notes the newest completed full set. The set's request is
// recorded first: a requester's sidecar killed after set.json but before
// its own record finds its set by the open entry while it is listed, and
// by this record after.
func (c *Coordinator) unlist(ctx context.Context, database, id string, sealed setmodel.Set) error {
	if sealed.RequestID != "" {
		if err := c.recordRequest(ctx, database, sealed.RequestID, id); err != nil {
			return err // still listed: the next step records and unlists it
		}
	}
	c.forget(setmodel.Set{Database: database, ID: id})
	return c.updateOpen(ctx, database, func(open *setmodel.OpenSets) bool {
		changed := open.NoteFull(sealed)
		for i, e := range open.Sets {
			if e.ID == id {
				open.Sets = append(open.Sets[:i:i], open.Sets[i+1:]...)
				return true
			}
		}
		return changed
	})
}

// setOfRequest is set-requests/{request}.json.
type setOfRequest struct {
	Version int    `json:"version"`
	Set     string `json:"set"`
}

// recordRequest writes which set a request made, once (If-None-Match): a
// record already there stands.
func (c *Coordinator) recordRequest(ctx context.Context, database, requestID, set string) error {
	data, err := json.Marshal(setOfRequest{Version: setmodel.SetVersion, Set: set})
	if err != nil {
		return fmt.Errorf("encode the set of request %s: %w", requestID, err)
	}
	_, err = c.store.Put(ctx, c.layout.SetOfRequestKey(database, requestID), data, coord.PutCondition{IfNoneMatch: true})
	if err != nil && !errors.Is(err, coord.ErrPreconditionFailed) {
		return fmt.Errorf("record the set of request %s: %w", requestID, err)
	}
	return nil
}

// forget drops what was cached of a set: sealed, or unlisted.
func (c *Coordinator) forget(set setmodel.Set) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sets, set.Database+"/"+set.ID)
	delete(c.results, set.Database+"/"+set.ID)
	for key := range c.attempts {
		if strings.HasPrefix(key, set.Database+"/"+set.ID+"/") {
			delete(c.attempts, key)
		}
	}
	folder := path.Dir(c.layout.SetKey(set.Database, set.ID)) + "/"
	for key := range c.reported { // keys of objects in the set's folder
		if strings.HasPrefix(key, folder) {
			delete(c.reported, key)
		}
	}
}
