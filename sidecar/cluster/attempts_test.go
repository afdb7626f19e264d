package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
)

// failing makes a node's backups of its shard fail with err.
func failing(n *node, err error) {
	n.exec.fn = func(context.Context, cluster.Job) (cluster.ShardResult, error) { return cluster.ShardResult{}, err }
}

// TestAFailedShardIsTriedByAnotherReplica: shard 1's backup fails on
// replica 1 (its disk full); replica 2 backs it up and the set completes.
// Replica 1 does not try again. Before, the first failure was the shard's
// result, and the set partial while a sound replica stood by.
func TestAFailedShardIsTriedByAnotherReplica(t *testing.T) {
	w := newWorld(t, 2)
	failing(w.nodes[0], errors.New("code: 243, NOT_ENOUGH_SPACE"))
	set := w.create(t, 0, cluster.Request{RequestID: "r1"})
	w.step(t, 0)
	if got, results := w.set(t, set.ID); got.State != cluster.SetOpen || len(results) != 0 {
		t.Fatalf("after replica 1 failed: set %s, results %+v; want it open, shard 1 left to replica 2", got.State, results)
	}
	w.step(t, 1, 0)
	got, results := w.set(t, set.ID)
	if got.State != cluster.SetCompleted || results[1].Replica != 2 || results[1].State != cluster.ShardSucceeded {
		t.Fatalf("set %s %v, shard 1 %s by replica %d; want completed by replica 2", got.State, got.Reasons, results[1].State, results[1].Replica)
	}
	if n1, n2 := len(w.nodes[0].exec.jobs()), len(w.nodes[1].exec.jobs()); n1 != 1 || n2 != 1 {
		t.Errorf("backups tried by replica 1: %d, by replica 2: %d; want one each", n1, n2)
	}
}

// TestEveryReplicaFailedFailsTheShard: when every replica of shard 1 has
// failed it, the shard's result is failed, naming each replica and what it
// answered, and the set is partial.
func TestEveryReplicaFailedFailsTheShard(t *testing.T) {
	w := newWorld(t, 2)
	failing(w.nodes[0], errors.New("code: 243, NOT_ENOUGH_SPACE"))
	failing(w.nodes[1], errors.New("code: 159, TIMEOUT_EXCEEDED"))
	set := w.create(t, 0, cluster.Request{RequestID: "r1"})
	w.step(t, 0, 1, 0, 1)
	got, results := w.set(t, set.ID)
	want := "every replica failed: replica 1 (node1): code: 243, NOT_ENOUGH_SPACE; replica 2 (node2): code: 159, TIMEOUT_EXCEEDED"
	if got.State != cluster.SetPartial || results[1].State != cluster.ShardFailed || results[1].Error != want {
		t.Fatalf("set %s, shard 1 %s %q; want partial, failed %q", got.State, results[1].State, results[1].Error, want)
	}
	if n1, n2 := len(w.nodes[0].exec.jobs()), len(w.nodes[1].exec.jobs()); n1 != 1 || n2 != 1 {
		t.Errorf("backups tried by replica 1: %d, by replica 2: %d; want one each", n1, n2)
	}
}

// TestAShardOfOneReplicaFailsAtOnce: with no other replica to try it, the
// first failure is the shard's result, as it says.
func TestAShardOfOneReplicaFailsAtOnce(t *testing.T) {
	w := newWorld(t, 1, 1)
	failing(w.nodes[1], errors.New("code: 243, NOT_ENOUGH_SPACE"))
	set := w.create(t, 0, cluster.Request{RequestID: "r1"})
	w.step(t, 0, 1, 0)
	got, results := w.set(t, set.ID)
	if got.State != cluster.SetPartial || results[2].State != cluster.ShardFailed || results[2].Error != "code: 243, NOT_ENOUGH_SPACE" {
		t.Fatalf("set %s, shard 2 %s %q", got.State, results[2].State, results[2].Error)
	}
}

// TestARejectedShardIsNotTriedElsewhere: a refusal of the requester's
// grants on replica 1's node is the shard's result: another node's grants
// are not asked for a right this one refused.
func TestARejectedShardIsNotTriedElsewhere(t *testing.T) {
	w := newWorld(t, 2)
	failing(w.nodes[0], fmt.Errorf("alice may not BACKUP shop on this node: %w", cluster.ErrRejected))
	set := w.create(t, 0, cluster.Request{RequestID: "r1"})
	w.step(t, 0, 1, 0)
	got, results := w.set(t, set.ID)
	if got.State != cluster.SetPartial || results[1].State != cluster.ShardRejected || len(w.nodes[1].exec.jobs()) != 0 {
		t.Fatalf("set %s, shard 1 %s, replica 2's backups %d; want partial, rejected, none", got.State, results[1].State,
			len(w.nodes[1].exec.jobs()))
	}
}

// TestAFailedAttemptIsNamedAtTheDeadline: replica 1 failed shard 1 and
// replica 2 never tried it (its sidecar down): at the deadline the set is
// partial, its reason naming replica 1's failure.
func TestAFailedAttemptIsNamedAtTheDeadline(t *testing.T) {
	w := newWorld(t, 2)
	failing(w.nodes[0], errors.New("code: 243, NOT_ENOUGH_SPACE"))
	set := w.create(t, 0, cluster.Request{RequestID: "r1"})
	w.step(t, 0)
	w.clock.Add(time.Hour)
	w.step(t, 0)
	got, _ := w.set(t, set.ID)
	if got.State != cluster.SetPartial || !strings.Contains(got.Reasons["shard-1"], "failed before on replica 1 (node1): code: 243, NOT_ENOUGH_SPACE") {
		t.Fatalf("set %s, reasons %v", got.State, got.Reasons)
	}
}
