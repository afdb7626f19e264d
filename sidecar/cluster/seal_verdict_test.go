package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/model"
)

// TestASealKeepsWhenTheLastShardStarted: the seal records the latest start
// of the shards' backups that succeeded (as_of judges the set by it), not
// of a failed one, which the set does not hold; a backup's start is the
// later of its claim and its name.
func TestASealKeepsWhenTheLastShardStarted(t *testing.T) {
	created := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
	set := setmodel.Set{ID: "s", Database: "shop", Shards: []int{1, 2, 3}, CreatedAt: created}
	at := func(m int) time.Time { return created.Add(time.Duration(m) * time.Minute) }
	named := func(m int) string { return model.NameAt(at(m)) }
	results := map[int]setmodel.ShardResult{
		1: {State: setmodel.ShardSucceeded, StartedAt: at(0), Backup: named(0)},
		2: {State: setmodel.ShardSucceeded, StartedAt: at(25), Backup: named(25)}, // taken over from a dead replica
		3: {State: setmodel.ShardFailed, StartedAt: at(40)},
	}
	sealed := cluster.Sealed(set, results, nil, "node1", at(50))
	if sealed.LastShardStart == nil || !sealed.LastShardStart.Equal(at(25)) || !sealed.DataTime().Equal(at(25)) {
		t.Fatalf("sealed: last shard start %v, data time %v; want %v", sealed.LastShardStart, sealed.DataTime(), at(25))
	}
	// Shard 1's BACKUP was named 30 minutes after its claim (its replica's
	// SYNC REPLICA, the chain's lease): it holds the rows of then.
	results[1] = setmodel.ShardResult{State: setmodel.ShardSucceeded, StartedAt: at(0), Backup: named(30)}
	if sealed = cluster.Sealed(set, results, nil, "node1", at(50)); !sealed.DataTime().Equal(at(30)) {
		t.Fatalf("a BACKUP named after its shard's claim: data time %v, want the name's %v", sealed.DataTime(), at(30))
	}
}

// TestAWaitWithoutAStatusIsNoVerdict: a wait that read no status of the
// RESTORE (timed out, lost ClickHouse) is no verdict, and the step stays
// started; one that read an end (failed, cancelled) is that end, and one
// that found no such operation is ErrNotFound (the step is judged by its
// rows then).
func TestAWaitWithoutAStatusIsNoVerdict(t *testing.T) {
	lost := errors.New("wait for restore x: lost contact with ClickHouse for 2m0s")
	for _, c := range []struct {
		name      string
		op        sidecar.Operation
		err       error
		noVerdict bool
	}{
		{"restored", sidecar.Operation{Status: sidecar.OpRestored}, nil, false},
		{"lost contact", sidecar.Operation{}, lost, true},
		{"timed out", sidecar.Operation{}, context.DeadlineExceeded, true},
		{"failed", sidecar.Operation{Status: sidecar.OpRestoreFailed}, errors.New("clickhouse ended the restore with RESTORE_FAILED"), false},
		{"killed", sidecar.Operation{Status: sidecar.OpRestoreCancel}, errors.New("clickhouse ended the restore with RESTORE_CANCELLED"), false},
		{"no such operation", sidecar.Operation{}, fmt.Errorf("restore x: %w", sidecar.ErrNotFound), false},
	} {
		err := cluster.AwaitVerdict(c.op, c.err)
		if got := errors.Is(err, cluster.ErrNoVerdict); got != c.noVerdict || (c.err == nil) != (err == nil) {
			t.Errorf("%s: %v; want no verdict: %v", c.name, err, c.noVerdict)
		}
	}
}
