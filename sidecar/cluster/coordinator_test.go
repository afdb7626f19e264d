package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// TestSetCreatedOnce: set.json holds the shards, the topology seen, the
// kind and the requester, and is listed in open.json; the same schedule
// slot's set made by another sidecar, or the same request again, is the
// set already there, not a second one.
func TestSetCreatedOnce(t *testing.T) {
	w := newWorld(t, 1, 1, 1)
	set := w.create(t, 0, cluster.Request{RequestID: "r1", RequestedBy: "alice"})
	if set.State != setmodel.SetOpen || set.Kind != setmodel.KindFull || set.RequestedBy != "alice" ||
		fmt.Sprint(set.Shards) != "[1 2 3]" || len(set.Topology) != 3 || set.CreatedBy != "node1" {
		t.Errorf("new set %+v", set)
	}
	if !set.Deadline.Equal(set.CreatedAt.Add(time.Hour)) {
		t.Errorf("deadline %s, want created_at + shard_timeout", set.Deadline)
	}
	if open := w.open(t); len(open.Sets) != 1 || open.Sets[0].ID != set.ID {
		t.Errorf("open.json %+v, want the set listed", open)
	}
	if again := w.create(t, 1, cluster.Request{RequestID: "r1", RequestedBy: "alice"}); again.ID != set.ID {
		t.Errorf("the same request made set %s, then %s", set.ID, again.ID)
	}
	slotReq := cluster.Request{ID: "20260501T110000000Z", RequestID: "schedule 20260501T110000000Z", RequestedBy: "node2"}
	slot := w.create(t, 1, slotReq)
	slotReq.RequestedBy = "node3"
	other := w.create(t, 2, slotReq)
	if other.CreatedBy != "node2" || other.RequestedBy != "node2" || slot.ID != other.ID {
		t.Errorf("the slot's set made by two sidecars: %+v and %+v", slot, other)
	}
	if _, err := w.nodes[2].c.Create(context.Background(), cluster.Request{Database: "shop", Topology: w.topo,
		ID: set.ID, RequestID: "r9"}); err == nil {
		t.Error("a named set took the name of another request's set")
	}
	if open := w.open(t); len(open.Sets) != 2 {
		t.Errorf("open.json lists %d sets, want 2: %+v", len(open.Sets), open)
	}
	if _, err := w.nodes[0].c.Create(context.Background(), cluster.Request{Database: "shop", Topology: w.topo, Shards: []int{4}}); err == nil {
		t.Error("a set of a shard the cluster lacks was created")
	}
	if _, err := w.nodes[0].c.Create(context.Background(), cluster.Request{Database: "../x", Topology: w.topo}); err == nil {
		t.Error("a set of a database named ../x was created")
	}
}

// TestOneReplicaPerShard: shard 1 on two nodes and shard 2 on one. While
// node1 backs shard 1 up, node2 finds the claim held and does nothing;
// each shard is backed up exactly once and the set is sealed completed.
func TestOneReplicaPerShard(t *testing.T) {
	w := newWorld(t, 2, 1)
	set := w.create(t, 2, cluster.Request{RequestID: "r1"})
	entered, release := make(chan struct{}), make(chan struct{})
	w.nodes[0].exec.fn = func(ctx context.Context, job cluster.Job) (setmodel.ShardResult, error) {
		close(entered)
		<-release
		return setmodel.ShardResult{Backup: "n1"}, nil
	}
	done := make(chan error)
	go func() { done <- w.nodes[0].c.Step(context.Background(), "shop") }()
	<-entered
	w.step(t, 1)
	if n := len(w.nodes[1].exec.jobs()); n != 0 {
		t.Errorf("node2 backed shard 1 up while node1's claim was held (%d calls)", n)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	w.step(t, 1, 2, 0)
	if n1, n2 := len(w.nodes[0].exec.jobs()), len(w.nodes[1].exec.jobs()); n1+n2 != 1 {
		t.Errorf("shard 1 backed up %d times (node1 %d, node2 %d), want once", n1+n2, n1, n2)
	}
	got, results := w.set(t, set.ID)
	if got.State != setmodel.SetCompleted || results[1].Node != "node1" || results[2].Node != "node3" {
		t.Errorf("set %s %s, results %+v", got.ID, got.State, results)
	}
	if open := w.open(t); len(open.Sets) != 0 {
		t.Errorf("a sealed set is still listed open: %+v", open)
	}
}

// TestStaleClaimTakenOver: node1 claimed shard 1 and stopped (no more
// heartbeats). Until its claim expires node2 waits; then node2 takes it
// over and backs shard 1 up under its own request id.
func TestStaleClaimTakenOver(t *testing.T) {
	w := newWorld(t, 2)
	set := w.create(t, 0, cluster.Request{RequestID: "r1"})
	ctx, crash := context.WithCancel(context.Background())
	w.nodes[0].exec.fn = func(ctx context.Context, job cluster.Job) (setmodel.ShardResult, error) {
		crash() // the sidecar dies here: it writes no result and never renews
		<-ctx.Done()
		return setmodel.ShardResult{}, ctx.Err()
	}
	held := claimHeldAfterCrash(t, w, ctx, set)
	w.step(t, 1)
	if len(w.nodes[1].exec.jobs()) != 0 {
		t.Fatal("node2 took over a claim whose heartbeat was fresh")
	}
	w.clock.Add(2 * time.Minute)
	w.step(t, 1)
	jobs := w.nodes[1].exec.jobs()
	if len(jobs) != 1 {
		t.Fatalf("node2 ran %d backups after node1's claim went stale, want 1", len(jobs))
	}
	if jobs[0].RequestID == held {
		t.Error("node2 used node1's request id: it would adopt a backup running on node1's server")
	}
	if got, results := w.set(t, set.ID); got.State != setmodel.SetCompleted || results[1].Node != "node2" {
		t.Errorf("set %s, result %+v", got.State, results[1])
	}
}

// claimHeldAfterCrash runs node1's step until its executor "crashes", then
// puts back the claim its shutdown released, as a killed process leaves
// it. It returns node1's request id.
func claimHeldAfterCrash(t *testing.T, w *world, ctx context.Context, set setmodel.Set) string {
	t.Helper()
	key := w.layout.ClaimKey("shop", set.ID, 1)
	var claim []byte
	w.nodes[0].exec.fn = wrapBefore(w.nodes[0].exec.fn, func() {
		claim, _, _ = w.store.Get(context.Background(), key)
	})
	if err := w.nodes[0].c.Step(ctx, "shop"); !errors.Is(err, context.Canceled) {
		t.Fatalf("node1's crashed step: %v", err)
	}
	if claim == nil {
		t.Fatal("node1 held no claim while it backed up")
	}
	if _, err := w.store.Put(context.Background(), key, claim, coord.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	return w.nodes[0].exec.jobs()[0].RequestID
}

func wrapBefore(fn func(context.Context, cluster.Job) (setmodel.ShardResult, error), before func()) func(context.Context, cluster.Job) (setmodel.ShardResult, error) {
	return func(ctx context.Context, job cluster.Job) (setmodel.ShardResult, error) {
		before()
		return fn(ctx, job)
	}
}

// TestRestartedSidecarTakesBackItsClaim: a sidecar restarted under the same
// name takes back its own live claim at once and asks for the same
// backup (request id), so the engine adopts the backup it had started.
func TestRestartedSidecarTakesBackItsClaim(t *testing.T) {
	w := newWorld(t, 2)
	set := w.create(t, 0, cluster.Request{RequestID: "r1"})
	ctx, crash := context.WithCancel(context.Background())
	w.nodes[0].exec.fn = func(ctx context.Context, job cluster.Job) (setmodel.ShardResult, error) {
		crash()
		<-ctx.Done()
		return setmodel.ShardResult{}, ctx.Err()
	}
	before := claimHeldAfterCrash(t, w, ctx, set)
	w.nodes[0].exec.fn = nil
	w.step(t, 0)
	jobs := w.nodes[0].exec.jobs()
	if len(jobs) != 2 || jobs[1].RequestID != before {
		t.Fatalf("after the restart node1 ran %d jobs; request ids %v, want the same twice", len(jobs), jobs)
	}
	if got, _ := w.set(t, set.ID); got.State != setmodel.SetCompleted {
		t.Errorf("set %s", got.State)
	}
}

// TestPartialAfterDeadline: shard 2's only node never steps. Before the
// deadline the set stays open; after it, any sidecar seals it partial,
// saying shard 2 was never taken, and a failed shard is partial too.
func TestPartialAfterDeadline(t *testing.T) {
	w := newWorld(t, 1, 1, 1)
	set := w.create(t, 0, cluster.Request{RequestID: "r1"})
	w.nodes[2].exec.fn = func(context.Context, cluster.Job) (setmodel.ShardResult, error) {
		return setmodel.ShardResult{}, fmt.Errorf("backup shop: %w: alice lacks BACKUP ON shop.*", cluster.ErrRejected)
	}
	w.step(t, 0, 2)
	if got, _ := w.set(t, set.ID); got.State != setmodel.SetOpen {
		t.Fatalf("set %s before its deadline with shard 2 missing, want open", got.State)
	}
	w.clock.Add(time.Hour + time.Second)
	w.step(t, 0)
	got, results := w.set(t, set.ID)
	if got.State != setmodel.SetPartial || got.SealedBy != "node1" {
		t.Fatalf("set %s sealed by %q, want partial", got.State, got.SealedBy)
	}
	if r := got.Reasons["shard-2"]; !strings.Contains(r, "no replica of shard 2 took it") {
		t.Errorf("shard 2's reason %q", r)
	}
	if r := got.Reasons["shard-3"]; !strings.Contains(r, "rejected on node3") || results[3].State != setmodel.ShardRejected {
		t.Errorf("shard 3's reason %q, result %+v", r, results[3])
	}
	if _, ok := got.Reasons["shard-1"]; ok || results[1].State != setmodel.ShardSucceeded {
		t.Errorf("shard 1: reason %q, result %+v", got.Reasons["shard-1"], results[1])
	}
	w.step(t, 1)
	if len(w.nodes[1].exec.jobs()) != 0 {
		t.Error("a shard of a sealed set was backed up")
	}
}

// TestKindAuto: the first set is full; after a completed full set, sets
// are incremental until the full interval has passed.
func TestKindAuto(t *testing.T) {
	w := newWorld(t, 1)
	first := w.create(t, 0, cluster.Request{RequestID: "r1"})
	w.step(t, 0)
	w.clock.Add(time.Hour)
	second := w.create(t, 0, cluster.Request{RequestID: "r2"})
	w.step(t, 0)
	w.clock.Add(24 * time.Hour)
	third := w.create(t, 0, cluster.Request{RequestID: "r3"})
	if first.Kind != setmodel.KindFull || second.Kind != setmodel.KindIncremental || third.Kind != setmodel.KindFull {
		t.Errorf("kinds %s, %s, %s; want full, incremental, full (%s)", first.Kind, second.Kind, third.Kind, third.KindReason)
	}
}

// TestStepIsOneGetWhenNothingIsOpen: a poll with no open set costs one
// GET; an entry whose creator stopped before set.json is dropped after
// its deadline.
func TestStepIsOneGetWhenNothingIsOpen(t *testing.T) {
	w := newWorld(t, 1)
	w.store.ResetGets()
	w.step(t, 0)
	if n := w.store.ResetGets(); n != 1 {
		t.Errorf("an idle step made %d GETs, want 1", n)
	}
	open := setmodel.OpenSets{Version: setmodel.SetVersion, Sets: []setmodel.OpenEntry{{ID: "x", CreatedAt: w.clock.Now(),
		Deadline: w.clock.Now().Add(time.Hour)}}}
	data, _ := json.Marshal(open)
	if _, err := w.store.Put(context.Background(), w.layout.OpenSetsKey("shop"), data, coord.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	w.step(t, 0)
	if len(w.open(t).Sets) != 1 {
		t.Fatal("an entry without set.json was dropped before its deadline")
	}
	w.clock.Add(2 * time.Hour)
	w.step(t, 0)
	if len(w.open(t).Sets) != 0 {
		t.Error("an entry without set.json stays listed after its deadline")
	}
}

// TestCreatorGoneSetCompletes: the sidecar that created the set stops
// right after; the others back every shard up (its shard by its other
// replica) and seal the set completed.
func TestCreatorGoneSetCompletes(t *testing.T) {
	w := newWorld(t, 1, 1, 2) // shard 3 on node3 and node4
	set := w.create(t, 2, cluster.Request{RequestID: "r1"})
	w.step(t, 0, 1, 3)
	got, results := w.set(t, set.ID)
	if got.State != setmodel.SetCompleted || results[3].Node != "node4" || len(w.nodes[2].exec.jobs()) != 0 {
		t.Errorf("set %s, shard 3 by %q", got.State, results[3].Node)
	}
}

// TestSetNamesNeverRepeat: a set created in the millisecond of a set
// already sealed (gone from open.json) takes a newer name, not the sealed
// set's (which would make its set.json refuse the second request).
func TestSetNamesNeverRepeat(t *testing.T) {
	w := newWorld(t, 1)
	first := w.create(t, 0, cluster.Request{RequestID: "r1"})
	w.step(t, 0)
	if got, _ := w.set(t, first.ID); got.State != setmodel.SetCompleted {
		t.Fatalf("first set %s: %v", got.State, got.Reasons)
	}
	second := w.create(t, 0, cluster.Request{RequestID: "r2"})
	if second.ID <= first.ID {
		t.Fatalf("second set named %s after a sealed %s, want a newer name", second.ID, first.ID)
	}
}
