package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
)

// setAnswer is what BackupSet answered a request.
type setAnswer struct {
	out control.SetOutcome
	err error
}

// waitingRequest runs request r1's backup set on node 0, as its sidecar
// does, and returns the set it made and where its answer comes once the
// set is sealed.
func (w *world) waitingRequest() (string, <-chan setAnswer) {
	reqs := cluster.Requests{Coord: w.nodes[0].c, Poll: time.Millisecond,
		Topology: func(context.Context) (setmodel.Topology, error) { return w.topo, nil }}
	done := make(chan setAnswer, 1)
	made := make(chan string, 100)
	go func() {
		out, err := reqs.BackupSet(context.Background(), control.SetRequest{Database: "shop", Kind: "auto", RequestID: "r1",
			RequestedBy: "alice"}, func(set, _ string) { made <- set })
		done <- setAnswer{out, err}
	}()
	return <-made, done
}

// TestADeletedOpenIndexStrandsNoSet: open.json deleted right after a set
// was made (by hand, a lifecycle rule, a bucket rolled back) leaves the
// nodes, which learn of sets from it alone, blind to the set: it would
// never be worked or sealed, and its request would wait for ever. The
// waiting request lists it again; the nodes back up their shards, the set
// is completed and the request answered.
func TestADeletedOpenIndexStrandsNoSet(t *testing.T) {
	w := newWorld(t, 1, 1)
	set, done := w.waitingRequest()
	ctx := context.Background()
	if err := w.store.Delete(ctx, []string{w.layout.OpenSetsKey("shop")}); err != nil {
		t.Fatal(err)
	}
	steps := 0
	deadline := time.After(10 * time.Second)
	for {
		select {
		case a := <-done:
			if a.err != nil || a.out.ID != set || !a.out.Completed() {
				t.Fatalf("the request was answered %+v (%v), want set %s completed", a.out, a.err, set)
			}
			if open := w.open(t); len(open.Sets) != 0 {
				t.Errorf("open sets %+v after the seal, want none", open.Sets)
			}
			return
		case <-deadline:
			t.Fatalf("the set was not sealed in 10 s (%d steps, the clock %s on); open.json deleted, nobody listed it again",
				steps, w.clock.Now().Sub(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)))
		case <-time.After(time.Millisecond):
			for i := range w.nodes {
				_ = w.nodes[i].c.Step(ctx, "shop")
			}
			if steps++; steps == 5 && len(w.nodes[0].exec.jobs())+len(w.nodes[1].exec.jobs()) > 0 {
				t.Fatal("a node worked the set with open.json deleted: the test deleted it too late")
			}
			w.clock.Add(time.Second) // the set's deadline is an hour on: relisted within a minute, it completes
		}
	}
}

// TestADeletedOpenIndexStrandsNoRestore: open.json deleted once a set's
// restore is listed there leaves the nodes blind to it; the waiting
// request lists it again and every node restores its shard, well before
// the restore's deadline would end it with nothing restored.
func TestADeletedOpenIndexStrandsNoRestore(t *testing.T) {
	w := newRestoreWorld(t, 1, 1)
	ctx := context.Background()
	done := make(chan error, 1)
	var out control.SetRestoreOutcome
	go func() {
		var err error
		out, err = w.requests().RestoreSet(ctx, control.SetRestoreRequest{Database: "shop", RequestID: "r1", RequestedBy: "alice"},
			func(string, string) {})
		done <- err
	}()
	for len(w.open(t).Restores) == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := w.store.Delete(ctx, []string{w.layout.OpenSetsKey("shop")}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case err := <-done:
			if err != nil || !out.Restored() || out.Ran != 2 {
				t.Fatalf("restore: %+v, %v; want both shards restored", out, err)
			}
			if got := w.sent(); got[0] != 1 || got[1] != 1 {
				t.Errorf("RESTOREs sent per node %v, want one each", got)
			}
			return
		case <-deadline:
			t.Fatalf("the restore did not end in 10 s; RESTOREs sent per node %v", w.sent())
		case <-time.After(time.Millisecond):
			for i := range w.nodes {
				_ = w.nodes[i].c.Step(ctx, "shop")
			}
			w.clock.Add(time.Second)
		}
	}
}
