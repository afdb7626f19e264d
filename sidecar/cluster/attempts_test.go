package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// failing makes a node's backups of its shard fail with err.
func failing(n *node, err error) {
	n.exec.fn = func(context.Context, cluster.Job) (setmodel.ShardResult, error) { return setmodel.ShardResult{}, err }
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
	if got, results := w.set(t, set.ID); got.State != setmodel.SetOpen || len(results) != 0 {
		t.Fatalf("after replica 1 failed: set %s, results %+v; want it open, shard 1 left to replica 2", got.State, results)
	}
	w.step(t, 1, 0)
	got, results := w.set(t, set.ID)
	if got.State != setmodel.SetCompleted || results[1].Replica != 2 || results[1].State != setmodel.ShardSucceeded {
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
	if got.State != setmodel.SetPartial || results[1].State != setmodel.ShardFailed || results[1].Error != want {
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
	if got.State != setmodel.SetPartial || results[2].State != setmodel.ShardFailed || results[2].Error != "code: 243, NOT_ENOUGH_SPACE" {
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
	if got.State != setmodel.SetPartial || results[1].State != setmodel.ShardRejected || len(w.nodes[1].exec.jobs()) != 0 {
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
	if got.State != setmodel.SetPartial || !strings.Contains(got.Reasons["shard-1"], "failed before on replica 1 (node1): code: 243, NOT_ENOUGH_SPACE") {
		t.Fatalf("set %s, reasons %v", got.State, got.Reasons)
	}
}

// TestAReplicaLackingATableIsNotTriedAfterAFailure: replica 1 holds a
// replicated table replica 2 lacks; replica 1's backup fails. Replica 2 is
// still judged against every replica's tables, so it does not back the
// shard up without that table (a set completed without it): the shard is
// left to the deadline, and the set is partial, naming replica 1's failure
// and why replica 2 may not take it.
func TestAReplicaLackingATableIsNotTriedAfterAFailure(t *testing.T) {
	w := newWorld(t, 2)
	rows := func(tables ...string) []setmodel.ReplicaRow {
		var out []setmodel.ReplicaRow
		for _, tb := range tables {
			out = append(out, setmodel.ReplicaRow{Database: "shop", Table: tb, Engine: "ReplicatedMergeTree",
				LogMaxIndex: 10, LogPointer: 11, TotalReplicas: 2, ActiveReplicas: 2})
		}
		return out
	}
	for i, tables := range [][]string{{"events", "x"}, {"events"}} {
		n := w.nodes[i]
		n.c = cluster.New(w.store, w.layout, "vault", n.c.Self(), n.exec, cluster.Options{ClaimTTL: time.Minute,
			ShardTimeout: time.Hour, Replication: &replication{rows: rows(tables...)}}, slog.New(slog.DiscardHandler))
		n.c.SetClock(w.clock.Now)
	}
	failing(w.nodes[0], errors.New("code: 243, NOT_ENOUGH_SPACE"))
	set := w.create(t, 0, cluster.Request{RequestID: "r1"})
	w.step(t, 1, 0, 1, 0, 1)
	if n1, n2 := len(w.nodes[0].exec.jobs()), len(w.nodes[1].exec.jobs()); n1 != 1 || n2 != 0 {
		t.Fatalf("backups by replica 1: %d, by replica 2 (lacking x): %d; want 1 and 0", n1, n2)
	}
	w.clock.Add(2 * time.Hour) // past the grace and the deadline
	w.step(t, 1, 0)
	got, _ := w.set(t, set.ID)
	if got.State != setmodel.SetPartial || !strings.Contains(got.Reasons["shard-1"], "failed before on replica 1 (node1)") ||
		!strings.Contains(got.Reasons["shard-1"], "no replica left fit to back it up: replica 2: x: not on this replica") ||
		len(w.nodes[1].exec.jobs()) != 0 {
		t.Fatalf("set %s %v, replica 2's backups %d; want partial naming replica 1's failure, none by replica 2", got.State,
			got.Reasons, len(w.nodes[1].exec.jobs()))
	}
}

// TestFailuresWithNoResultAreSettled: every replica of shard 1 recorded
// its failure, but the last stopped before it wrote the shard's result:
// the next step writes it, failed, naming both, so the shard is not left
// to the set's deadline.
func TestFailuresWithNoResultAreSettled(t *testing.T) {
	w := newWorld(t, 2)
	set := w.create(t, 0, cluster.Request{RequestID: "r1"})
	for r, msg := range map[int]string{1: "code: 243, NOT_ENOUGH_SPACE", 2: "code: 159, TIMEOUT_EXCEEDED"} {
		data, _ := json.Marshal(setmodel.ShardResult{Version: setmodel.SetVersion, Set: set.ID, Database: "shop", Shard: 1, Replica: r,
			Node: fmt.Sprintf("node%d", r), State: setmodel.ShardFailed, Error: msg})
		if _, err := w.store.Put(context.Background(), w.layout.FailedAttemptKey("shop", set.ID, 1, r), data, coord.PutCondition{}); err != nil {
			t.Fatal(err)
		}
	}
	w.step(t, 0, 1)
	got, results := w.set(t, set.ID)
	if got.State != setmodel.SetPartial || !strings.HasPrefix(results[1].Error, "every replica failed: replica 1 (node1)") ||
		len(w.nodes[0].exec.jobs())+len(w.nodes[1].exec.jobs()) != 0 {
		t.Fatalf("set %s, shard 1 %s %q; want partial, failed naming both, and no backup tried again", got.State,
			results[1].State, results[1].Error)
	}
}

// TestAnUnlistedReplicaFailsTheShardAtOnce: a replica the set's creator
// did not see (added to the cluster since) whose backup fails makes that
// its result at once: it is not counted among the replicas the set waits
// for, nor does it try again and again.
func TestAnUnlistedReplicaFailsTheShardAtOnce(t *testing.T) {
	w := newWorld(t, 2)
	self := cluster.Member{Holder: coord.Holder{Name: "node9", Stable: true}, Position: setmodel.Position{Shard: 1, Replica: 3}}
	stranger := &node{name: "node9", exec: &executor{}}
	stranger.c = cluster.New(w.store, w.layout, "vault", self, stranger.exec, cluster.Options{ClaimTTL: time.Minute, ShardTimeout: time.Hour},
		slog.New(slog.DiscardHandler))
	stranger.c.SetClock(w.clock.Now)
	failing(stranger, errors.New("code: 243, NOT_ENOUGH_SPACE"))
	w.nodes = append(w.nodes, stranger)
	set := w.create(t, 0, cluster.Request{RequestID: "r1"})
	w.step(t, 2, 2)
	_, results := w.set(t, set.ID)
	if results[1].State != setmodel.ShardFailed || results[1].Error != "code: 243, NOT_ENOUGH_SPACE" || len(stranger.exec.jobs()) != 1 {
		t.Fatalf("shard 1 %s %q after %d tries; want failed at once, tried once", results[1].State, results[1].Error, len(stranger.exec.jobs()))
	}
}

// TestARejectionAfterAFailureNamesIt: replica 1 failed, then replica 2
// refuses the requester: the shard's result is the rejection, and it
// names replica 1's failure too.
func TestARejectionAfterAFailureNamesIt(t *testing.T) {
	w := newWorld(t, 2)
	failing(w.nodes[0], errors.New("code: 243, NOT_ENOUGH_SPACE"))
	failing(w.nodes[1], fmt.Errorf("%w: alice may not BACKUP shop on this node", cluster.ErrRejected))
	set := w.create(t, 0, cluster.Request{RequestID: "r1"})
	w.step(t, 0, 1)
	_, results := w.set(t, set.ID)
	if results[1].State != setmodel.ShardRejected || !strings.Contains(results[1].Error, "failed before on replica 1 (node1): code: 243") {
		t.Fatalf("shard 1 %s %q", results[1].State, results[1].Error)
	}
}

// TestGrantsUnreadIsAFailureNotARefusal: a node that cannot read the
// requester's grants (its server restarting) fails the shard's backup,
// which another replica tries; only a "no" is a rejection.
func TestGrantsUnreadIsAFailureNotARefusal(t *testing.T) {
	for _, c := range []struct {
		allowed  error
		rejected bool
	}{
		{errors.New("check the grants of alice on this node: dial tcp 127.0.0.1:9000: connect: connection refused"), false},
		{fmt.Errorf("%w: alice may not BACKUP shop on this node", cluster.ErrRejected), true},
	} {
		checked := cluster.Checked{Executor: &executor{}, Allowed: func(context.Context, setmodel.Requester, string) error { return c.allowed }}
		_, err := checked.BackupShard(context.Background(), cluster.Job{Set: setmodel.Set{RequestedBy: "alice", Database: "shop"}, Shard: 1})
		if err == nil || errors.Is(err, cluster.ErrRejected) != c.rejected {
			t.Errorf("%v: %v, want rejected %v", c.allowed, err, c.rejected)
		}
	}
}
