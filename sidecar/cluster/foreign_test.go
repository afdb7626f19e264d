package cluster_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

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
// this cluster's nodes hold; none of them sends a RESTORE, and the
// restore ends unrun at its deadline.
func TestNodesRunNoStepOfAnotherClustersRestore(t *testing.T) {
	w := newRestoreWorld(t, 1, 1, 1)
	reqs := w.requests()
	reqs.Coord = intruder(w.world, cluster.Options{ShardTimeout: time.Hour})
	done := make(chan control.SetRestoreOutcome, 1)
	go func() {
		out, _ := reqs.RestoreSet(context.Background(), control.SetRestoreRequest{Database: "shop", Target: "shop_b", RequestID: "r1",
			Operator: true}, func(string, string) {})
		done <- out
	}()
	for range 20 {
		for i := range w.nodes {
			_ = w.nodes[i].c.Step(context.Background(), "shop")
		}
		time.Sleep(time.Millisecond)
	}
	if sent := w.sent(); sent[0]+sent[1]+sent[2] != 0 {
		t.Fatalf("this cluster's nodes ran another cluster's restore steps: %v RESTOREs", sent)
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
}
