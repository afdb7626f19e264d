package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

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
// with what each answered. A record never changes once written, so what
// was found is kept until the set is sealed.
func (a attempts) failed(ctx context.Context, set Set, shard int) (map[int]ShardResult, error) {
	s, ok := setShard(set, shard)
	if !ok || len(s.Replicas) < 2 {
		return nil, nil
	}
	out := map[int]ShardResult{}
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

func (a attempts) read(ctx context.Context, set Set, shard, replica int) (ShardResult, bool, error) {
	key := a.c.layout.FailedAttemptKey(set.Database, set.ID, shard, replica)
	cached := fmt.Sprintf("%s/%s/%d/%d", set.Database, set.ID, shard, replica)
	a.c.mu.Lock()
	res, ok := a.c.attempts[cached]
	a.c.mu.Unlock()
	if ok {
		return res, true, nil
	}
	data, _, err := a.c.store.Get(ctx, key)
	if errors.Is(err, coord.ErrNotFound) {
		return ShardResult{}, false, nil
	}
	if err != nil {
		return ShardResult{}, false, fmt.Errorf("read replica %d's failed backup of shard %d for set %s: %w", replica, shard, set.ID, err)
	}
	if err := decode(fmt.Sprintf("replica %d's failed backup of shard %d", replica, shard), data, &res); err != nil {
		return ShardResult{}, false, err
	}
	a.c.mu.Lock()
	a.c.attempts[cached] = res
	a.c.mu.Unlock()
	return res, true, nil
}

// fail records this replica's failed backup res of shard and reports the
// shard's result, failed and naming every attempt, when no replica of the
// shard is left to try it (ok false: another replica claims it next).
// Each replica writes its own record before it reads the others', so of
// two failing at once, at least the later sees both and writes the result.
func (a attempts) fail(ctx context.Context, set Set, shard int, res ShardResult) (ShardResult, bool, error) {
	s, ok := setShard(set, shard)
	if !ok || len(s.Replicas) < 2 {
		return res, true, nil
	}
	data, err := json.Marshal(res)
	if err != nil {
		return res, false, fmt.Errorf("encode the failed backup of shard %d of set %s: %w", shard, set.ID, err)
	}
	key := a.c.layout.FailedAttemptKey(set.Database, set.ID, shard, res.Replica)
	if _, err := a.c.store.Put(ctx, key, data, coord.PutCondition{}); err != nil {
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
	res.Error = "every replica failed: " + describeAttempts(failed)
	return res, true, nil
}

// describeAttempts names each replica's failed attempt, by replica.
func describeAttempts(failed map[int]ShardResult) string {
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
