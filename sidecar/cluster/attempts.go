package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// A shard's backup that fails on one replica — its SYNC REPLICA timed out,
// its disk is full, its server restarted mid-BACKUP — is tried by the
// shard's other replicas before the shard is failed: the failed attempt
// is recorded (shard-{n}.failed-replica-{r}.json), the claim let go, and a
// replica that has not tried claims next. The last replica to fail writes
// the shard's result, failed, naming every attempt. A rejection is not
// tried elsewhere: it is what the requester's grants on that node say,
// not a fault of the node. A shard of one replica fails at once, as
// before.
type attempts struct{ c *Coordinator }

// failed are the replicas of shard that have failed its backup for set,
// with what each answered. A record is written once (If-None-Match) and
// never changes, so what was found is kept until the set is sealed.
func (a attempts) failed(ctx context.Context, set setmodel.Set, shard int) (map[int]setmodel.ShardResult, error) {
	s, ok := setShard(set, shard)
	if !ok || len(s.Replicas) < 2 {
		return nil, nil
	}
	out := map[int]setmodel.ShardResult{}
	for _, r := range s.Replicas {
		res, found, err := a.read(ctx, set, shard, r.Num)
		if err != nil {
			return nil, err
		}
		if found {
			out[r.Num] = res
		}
	}
	return out, nil
}

func (a attempts) read(ctx context.Context, set setmodel.Set, shard, replica int) (setmodel.ShardResult, bool, error) {
	key := a.c.layout.FailedAttemptKey(set.Database, set.ID, shard, replica)
	cached := fmt.Sprintf("%s/%s/%d/%d", set.Database, set.ID, shard, replica)
	a.c.mu.Lock()
	res, ok := a.c.attempts[cached]
	a.c.mu.Unlock()
	if ok {
		return res, true, nil
	}
	found, err := readRecord(ctx, a.c.store, key, fmt.Sprintf("replica %d's failed backup of shard %d for set %s", replica, shard, set.ID), &res)
	if err != nil || !found {
		return setmodel.ShardResult{}, false, err
	}
	a.c.mu.Lock()
	a.c.attempts[cached] = res
	a.c.mu.Unlock()
	return res, true, nil
}

// conclude decides what a replica's ended backup res of shard makes of
// the shard: its result (ok), or, for a failure another listed replica of
// the shard has not tried yet, nothing (ok false: that replica claims
// next) once the failure is recorded. A rejection is the result at once,
// naming any failure before it. Each replica writes its record before it
// reads the others', so of two failing at once, at least the later sees
// both and writes the result (and settle writes it if that one stopped).
func (a attempts) conclude(ctx context.Context, set setmodel.Set, shard int, res setmodel.ShardResult) (setmodel.ShardResult, bool, error) {
	s, ok := setShard(set, shard)
	if !ok || len(s.Replicas) < 2 || !listed(s, res.Replica) || res.State == setmodel.ShardSucceeded {
		return res, true, nil
	}
	if res.State == setmodel.ShardRejected {
		if failed, err := a.failed(ctx, set, shard); err == nil && len(failed) > 0 {
			res.Error += "; failed before on " + describeAttempts(failed)
		}
		return res, true, nil
	}
	data, err := json.Marshal(res)
	if err != nil {
		return res, false, fmt.Errorf("encode the failed backup of shard %d of set %s: %w", shard, set.ID, err)
	}
	key := a.c.layout.FailedAttemptKey(set.Database, set.ID, shard, res.Replica)
	if _, err := a.c.store.Put(ctx, key, data, coord.PutCondition{IfNoneMatch: true}); err != nil && !errors.Is(err, coord.ErrPreconditionFailed) {
		return res, false, fmt.Errorf("record the failed backup of shard %d of set %s: %w", shard, set.ID, err)
	}
	failed, err := a.failed(ctx, set, shard)
	if err != nil {
		return res, false, err
	}
	failed[res.Replica] = res
	if len(failed) < len(s.Replicas) {
		a.c.logger.Info("shard's backup failed on this replica; another replica tries it", "database", set.Database,
			"set", set.ID, "shard", shard, "error", res.Error)
		return res, false, nil
	}
	res.Error = everyReplicaFailed(failed)
	return res, true, nil
}

// settle writes the shard's result, failed, when every listed replica has
// failed it but none wrote the result (the last stopped in between), so
// the shard is not left to the set's deadline. It reports whether it did.
func (a attempts) settle(ctx context.Context, set setmodel.Set, shard int, failed map[int]setmodel.ShardResult) (bool, error) {
	s, ok := setShard(set, shard)
	if !ok || len(s.Replicas) < 2 || len(failed) < len(s.Replicas) {
		return false, nil
	}
	var last setmodel.ShardResult
	for _, r := range failed {
		if r.FinishedAt.After(last.FinishedAt) || last.Set == "" {
			last = r
		}
	}
	last.Error = everyReplicaFailed(failed)
	return true, writeResult(ctx, a.c, last)
}

// listed reports whether replica is one of the set's replicas of shard s:
// one the set's creator did not see (added since, or numbered otherwise)
// has its failure made the shard's result at once, as a shard of one
// replica does, not counted among replicas the others wait for.
func listed(s setmodel.Shard, replica int) bool {
	return slices.ContainsFunc(s.Replicas, func(r setmodel.Replica) bool { return r.Num == replica })
}

// everyReplicaFailed is the error of a shard every replica failed.
func everyReplicaFailed(failed map[int]setmodel.ShardResult) string {
	return "every replica failed: " + describeAttempts(failed)
}

// describeAttempts names each replica's failed attempt, by replica.
func describeAttempts(failed map[int]setmodel.ShardResult) string {
	nums := make([]int, 0, len(failed))
	for n := range failed {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	parts := make([]string, 0, len(nums))
	for _, n := range nums {
		parts = append(parts, fmt.Sprintf("replica %d (%s): %s", n, failed[n].Node, model.FirstLine(failed[n].Error)))
	}
	return strings.Join(parts, "; ")
}
