package cluster_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// intruder is a sidecar of another cluster, vault-b, misconfigured under
// the world's cluster.id, at node 1's place (shard 1, replica 1).
func intruder(w *world, opts cluster.Options) *cluster.Coordinator {
	self := cluster.Member{Holder: coord.Holder{Name: "intruder", Stable: true}, Position: setmodel.Position{Shard: 1, Replica: 1}}
	c := cluster.New(w.store, w.layout, "vault-b", self, &executor{}, opts, slog.New(slog.DiscardHandler))
	c.SetClock(w.clock.Now)
	return c
}

// TestNodesTakeNoPartInAnotherClustersSet: a set made by a sidecar of
// another cluster under this cluster's id is backed up by none of this
// cluster's nodes; past its deadline they seal it partial, so it ends.
func TestNodesTakeNoPartInAnotherClustersSet(t *testing.T) {
	w := newWorld(t, 1, 1)
	set, err := intruder(w, cluster.Options{ShardTimeout: time.Hour}).Create(context.Background(),
		cluster.Request{Database: "shop", RequestID: "r1", Topology: w.topo})
	if err != nil {
		t.Fatal(err)
	}
	w.step(t, 0, 1)
	for i, n := range w.nodes {
		if jobs := n.exec.jobs(); len(jobs) != 0 {
			t.Errorf("node %d backed its shard up for another cluster's set: %+v", i+1, jobs)
		}
	}
	w.clock.Add(2 * time.Hour)
	w.step(t, 0, 1)
	if got, _ := w.set(t, set.ID); got.State != setmodel.SetPartial {
		t.Errorf("another cluster's set past its deadline is %s, want partial", got.State)
	}
}

// TestNodesRunNoStepOfAnotherClustersRestore: a restore asked on a sidecar
// of another cluster under this cluster's id lists steps for node places
// this cluster's nodes hold; none of them sends a RESTORE (the other's
// node at shard 1 runs its own, on its own server), the same restore
// asked in this cluster is refused while the other's run holds it, and
// the other's ends at its deadline with two steps unrun. Past it (that
// cluster gone), this cluster's run starts the record over: the step done
// on the other's server is done again here, and every shard restored.
func TestNodesRunNoStepOfAnotherClustersRestore(t *testing.T) {
	w := newRestoreWorld(t, 1, 1, 1)
	reqs := w.requests()
	theirs := newFakeServer()
	reqs.Coord = intruder(w.world, cluster.Options{ShardTimeout: time.Hour, Restorer: theirs})
	done := make(chan control.SetRestoreOutcome, 1)
	go func() {
		out, _ := reqs.RestoreSet(context.Background(), control.SetRestoreRequest{Database: "shop", Target: "shop_b", RequestID: "r1",
			Operator: true}, func(string, string) {})
		done <- out
	}()
	for listed := false; !listed; { // this cluster's nodes step while the other's restore is listed
		for i := range w.nodes {
			_ = w.nodes[i].c.Step(context.Background(), "shop")
		}
		listed = len(w.open(t).Restores) == 1
		time.Sleep(time.Millisecond)
	}
	for i := range w.nodes {
		_ = w.nodes[i].c.Step(context.Background(), "shop")
	}
	if err := reqs.Coord.Step(context.Background(), "shop"); err != nil || theirs.sends() != 1 {
		t.Fatalf("the other cluster's node ran %d RESTOREs (%v), want its step", theirs.sends(), err)
	}
	if sent := w.sent(); sent[0]+sent[1]+sent[2] != 0 {
		t.Fatalf("this cluster's nodes ran another cluster's restore steps: %v RESTOREs", sent)
	}
	ours := control.SetRestoreRequest{Database: "shop", Target: "shop_b", RequestID: "r2", Operator: true}
	if _, err := w.restoreBy(t, w.requests(), ours, nil); !errors.Is(err, control.ErrRejected) ||
		!strings.Contains(err.Error(), "run by cluster vault-b") {
		t.Errorf("the same restore asked here while vault-b's run holds it: %v, want it refused naming vault-b", err)
	}
	w.clock.Add(2 * time.Hour)
	select {
	case out := <-done:
		if out.Restored() || len(out.Steps) != 3 {
			t.Errorf("another cluster's restore, no node of it running: %+v", out)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the restore did not end at its deadline")
	}
	ours.RequestID = "r3"
	if out, err := w.restoreBy(t, w.requests(), ours, nil); err != nil || !out.Restored() || out.Ran != 3 {
		t.Errorf("this cluster's restore past vault-b's deadline: %+v, %v", out, err)
	}
	if sent, rows := w.sent(), w.servers[0].rows("shop_b")["orders"]; !slices.Equal(sent, []int{1, 1, 1}) || rows != 100 {
		t.Errorf("this cluster's nodes sent %v RESTOREs, node 1 holds %d rows; want every step run here, shard 1's 100 rows", sent, rows)
	}
}

// TestNodeSendsNothingPastTheDeadline: a node with three steps of a
// restore (three source shards onto one) whose deadline passes while its
// first RESTORE runs sends no other: its requester has given up on it,
// and no cleanup keeps the set any more.
func TestNodeSendsNothingPastTheDeadline(t *testing.T) {
	w := newRestoreWorld(t, 1, 1, 1)
	one := w.topo
	one.Shards = one.Shards[:1]
	reqs := w.requests()
	reqs.Topology = func(context.Context) (setmodel.Topology, error) { return one, nil }
	w.servers[0].onStart = func(sidecar.RestoreCommand) { w.clock.Add(2 * time.Hour) }
	out, err := w.restoreBy(t, reqs, control.SetRestoreRequest{Target: "shop1", RequestID: "r1"}, nil)
	if err != nil || out.Restored() {
		t.Fatalf("restore whose deadline passed: %+v, %v", out, err)
	}
	if sent := w.servers[0].sends(); sent != 1 {
		t.Errorf("node 1 sent %d RESTOREs, want the one it began before the deadline", sent)
	}
}
