package cluster_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
)

// restoreBy runs a restore request through reqs on node 0 while the nodes
// step (each with ctxOf(i), so a test can stop one), and returns its
// outcome.
func (w *restoreWorld) restoreBy(t *testing.T, reqs cluster.Requests, req control.SetRestoreRequest,
	ctxOf func(i int) context.Context) (control.SetRestoreOutcome, error) {
	t.Helper()
	if req.Database == "" {
		req.Database = "shop"
	}
	type answer struct {
		out control.SetRestoreOutcome
		err error
	}
	done := make(chan answer, 1)
	go func() {
		out, err := reqs.RestoreSet(context.Background(), req, func(string, string) {})
		done <- answer{out, err}
	}()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case a := <-done:
			return a.out, a.err
		case <-deadline:
			t.Fatal("the restore did not end in 10 s")
		case <-time.After(time.Millisecond):
			for i := range w.nodes {
				ctx := context.Background()
				if ctxOf != nil {
					ctx = ctxOf(i)
				}
				_ = w.nodes[i].c.Step(ctx, "shop")
			}
		}
	}
}

// sent is how many RESTOREs each node's server was sent.
func (w *restoreWorld) sent() []int {
	var out []int
	for _, srv := range w.servers {
		out = append(out, srv.sends())
	}
	return out
}

// TestSetRestoreOfOneShard: after a whole restore, node 2 loses its table
// (its database keeps another, as a Distributed table would be). A
// restore of shard 2 alone sends one RESTORE, on node 2 only, and brings
// its rows back; its record is its own, beside the whole restore's. Run
// again it adds nothing, and so does the whole restore run again (its
// record says every step is done). Shard 1 alone, whose table holds its
// rows, leaves it as it is and says so: nothing is sent.
func TestSetRestoreOfOneShard(t *testing.T) {
	w := newRestoreWorld(t, 1, 1, 1)
	if out, err := w.restore(t, control.SetRestoreRequest{RequestID: "r1", RequestedBy: "alice"}, nil); err != nil || !out.Restored() {
		t.Fatalf("the whole restore: %+v, %v", out, err)
	}
	w.servers[1].mu.Lock()
	w.servers[1].dbs["shop"] = map[string]uint64{"all_orders": 0}
	w.servers[1].mu.Unlock()
	out, err := w.restore(t, control.SetRestoreRequest{Shard: 2, RequestID: "r2", RequestedBy: "alice"}, nil)
	if err != nil || !out.Restored() || out.Ran != 1 ||
		out.Message() != "shard 2 of set "+w.set.ID+" into shop restored: t2-r1-s2-data (200 rows, node2)" {
		t.Fatalf("shard 2 alone: %q, %+v, %v", out.Message(), out, err)
	}
	if got := w.servers[1].rows("shop")["orders"]; got != 200 || !slices.Equal(w.sent(), []int{1, 2, 1}) {
		t.Errorf("node 2 holds %d rows; RESTOREs sent per node %v, want 200 and [1 2 1]", got, w.sent())
	}
	for _, shard := range []int{0, 2} {
		key := w.layout.RestoreKey("shop", w.set.ID, "c1", "shop", shard)
		if _, _, err := w.store.Get(context.Background(), key); err != nil {
			t.Errorf("the record of shard %d's restore (0: every shard's): %v", shard, err)
		}
	}
	for _, again := range []control.SetRestoreRequest{{Shard: 2, RequestID: "r3"}, {RequestID: "r4"}} {
		out, err := w.restore(t, again, nil)
		if err != nil || !out.Restored() || out.Ran != 0 || !strings.Contains(out.Message(), "nothing added") {
			t.Errorf("shard %d again: %q, %v", again.Shard, out.Message(), err)
		}
	}
	out, err = w.restore(t, control.SetRestoreRequest{Shard: 1, RequestID: "r5"}, nil)
	if err != nil || !out.Restored() || !strings.Contains(out.Message(), "t1-r1-s1-data (0 rows, node1; left as they were, holding rows: orders (100))") {
		t.Errorf("shard 1 alone, its table holding its rows: %q, %v", out.Message(), err)
	}
	if got := w.servers[0].rows("shop")["orders"]; got != 100 || !slices.Equal(w.sent(), []int{1, 2, 1}) {
		t.Errorf("node 1 holds %d rows; RESTOREs sent per node %v, want 100 and [1 2 1]", got, w.sent())
	}
	if open := w.open(t); len(open.Restores) != 0 {
		t.Errorf("open.json still lists %+v", open.Restores)
	}
}

// TestSetRestoreWholeAfterOneShard: shard 2 alone restored into a new
// database, then the whole set into it: shards 1 and 3 are restored, and
// shard 2's step fails (its database is not empty) instead of adding its
// rows a second time.
func TestSetRestoreWholeAfterOneShard(t *testing.T) {
	w := newRestoreWorld(t, 1, 1, 1)
	out, err := w.restore(t, control.SetRestoreRequest{Target: "shop_new", Shard: 2, RequestID: "r1"}, nil)
	if err != nil || !out.Restored() || !slices.Equal(w.sent(), []int{0, 1, 0}) {
		t.Fatalf("shard 2 alone into shop_new: %q, %v; sent %v", out.Message(), err, w.sent())
	}
	out, err = w.restore(t, control.SetRestoreRequest{Target: "shop_new", RequestID: "r2"}, nil)
	if err != nil || out.Restored() || !strings.Contains(out.Message(), "t2-r1-s2-data failed: database shop_new is not empty") {
		t.Errorf("the whole set after shard 2 alone: %q, %v", out.Message(), err)
	}
	for i, want := range []uint64{100, 200, 300} {
		if got := w.servers[i].rows("shop_new")["orders"]; got != want {
			t.Errorf("node %d holds %d rows, want %d", i+1, got, want)
		}
	}
}

// TestSetRestoreOfOneShardOntoFewerShards: shard 3 alone onto a cluster of
// two shards goes where the whole set's restore puts it, target shard 1,
// alone: node 1 restores its 300 rows, node 2 nothing.
func TestSetRestoreOfOneShardOntoFewerShards(t *testing.T) {
	w := newRestoreWorld(t, 1, 1, 1)
	two := w.topo
	two.Shards = two.Shards[:2]
	reqs := w.requests()
	reqs.Topology = func(context.Context) (setmodel.Topology, error) { return two, nil }
	out, err := w.restoreBy(t, reqs, control.SetRestoreRequest{Target: "shop2", Shard: 3, RequestID: "r1"}, nil)
	if err != nil || !out.Restored() || !strings.Contains(out.Message(), "t1-r1-s3-data (300 rows, node1)") || len(out.Steps) != 1 {
		t.Fatalf("shard 3 alone onto 2 shards: %q, %v", out.Message(), err)
	}
	if got := w.servers[0].rows("shop2")["orders"]; got != 300 || !slices.Equal(w.sent(), []int{1, 0, 0}) {
		t.Errorf("node 1 holds %d rows; sent %v; want 300, [1 0 0]", got, w.sent())
	}
}

// TestSetRestoreOfOneShardRefusals: a shard the set lacks is refused,
// naming the set's shards, whether the set is named or chosen as the
// newest; nothing is written and no RESTORE sent.
func TestSetRestoreOfOneShardRefusals(t *testing.T) {
	w := newRestoreWorld(t, 1, 1, 1)
	for _, req := range []control.SetRestoreRequest{{Shard: 4, RequestID: "r1"}, {Shard: 4, Set: w.set.ID, RequestID: "r2"}} {
		_, err := w.restore(t, req, nil)
		if !errors.Is(err, control.ErrRejected) || !strings.Contains(err.Error(), "has shards [1 2 3], not 4") {
			t.Errorf("shard 4 of set %q: %v", req.Set, err)
		}
	}
	if l, _ := w.store.List(context.Background(), w.layout.SetRoot("shop", w.set.ID)+"restores/", true); len(l.Objects) != 0 {
		t.Errorf("refused restores wrote %v", l.Objects)
	}
	if !slices.Equal(w.sent(), []int{0, 0, 0}) {
		t.Errorf("RESTOREs sent: %v", w.sent())
	}
}

// TestSetRestoreOfOneShardAgainFromANodeWithoutIt: shard 2 alone restored
// into a new database, asked again on node 1, which has no step of it and
// so never held that database: it adds nothing. (The target's absence on
// the answering node read as the restore undone, and every retry there
// started the record over.)
func TestSetRestoreOfOneShardAgainFromANodeWithoutIt(t *testing.T) {
	w := newRestoreWorld(t, 1, 1, 1)
	req := control.SetRestoreRequest{Shard: 2, Target: "shop_new", RequestID: "r1", RequestedBy: "alice"}
	if out, err := w.restore(t, req, nil); err != nil || !out.Restored() || out.Ran != 1 {
		t.Fatalf("shard 2 alone into shop_new: %q, %v", out.Message(), err)
	}
	req.RequestID = "r2"
	out, err := w.restore(t, req, nil)
	if err != nil || !out.Restored() || out.Ran != 0 || !strings.Contains(out.Message(), "nothing added") ||
		!slices.Equal(w.sent(), []int{0, 1, 0}) {
		t.Errorf("the same again, answered on node 1: %q, %v; RESTOREs sent per node %v, want nothing added and [0 1 0]",
			out.Message(), err, w.sent())
	}
}
