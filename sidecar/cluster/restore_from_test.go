package cluster_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/control"
)

// TestSetRestoreFromAnotherCluster: a set of cluster c1 is restored onto
// cluster c2 (nodes of its own, the same bucket and prefix): every shard's
// rows are on c2's nodes and the answer names c1. Nothing is written under
// c1: the record is in c2's folder and listed in c2's open.json only, so
// c1's nodes, stepping, never run its steps. Run again, it adds nothing.
func TestSetRestoreFromAnotherCluster(t *testing.T) {
	w := newRestoreWorld(t, 1, 1, 1)
	before := keysUnder(t, w, "p/c1/")
	staging := cluster.Layout{Prefix: "p", ClusterID: "c2"}
	var sources []*cluster.Coordinator
	for i, n := range w.nodes {
		sources = append(sources, n.c)
		n.c = cluster.New(w.store, staging, "vault2", n.c.Self(), n.exec, cluster.Options{ClaimTTL: time.Minute,
			ShardTimeout: time.Hour, Restorer: w.servers[i]}, slog.New(slog.DiscardHandler))
		n.c.SetClock(w.clock.Now)
	}
	reqs := w.requests()
	ask := control.SetRestoreRequest{FromCluster: "c1", RequestID: "r1", RequestedBy: "ops", Operator: true}
	out, err := w.restoreBy(t, reqs, ask, nil)
	if err != nil || !out.Restored() || out.Ran != 3 || !strings.Contains(out.Message(), "set "+w.set.ID+" of cluster c1 into shop restored") {
		t.Fatalf("restore of c1's set onto c2: %+v, %v", out, err)
	}
	for i, srv := range w.servers {
		if got, want := srv.rows("shop")["orders"], uint64(100*(i+1)); got != want {
			t.Errorf("c2's node %d holds %d rows, want shard %d's %d", i+1, got, i+1, want)
		}
	}
	if after := keysUnder(t, w, "p/c1/"); !slices.Equal(after, before) {
		t.Errorf("the restore wrote under the source cluster's id:\nbefore %v\nafter  %v", before, after)
	}
	if _, _, err := w.store.Get(t.Context(), staging.ImportKey("shop", "c1", w.set.ID, "shop", 0)); err != nil {
		t.Errorf("the record is not in c2's folder: %v", err)
	}
	ask.RequestID = "r2"
	if again, err := w.restoreBy(t, reqs, ask, nil); err != nil || !again.Restored() || again.Ran != 0 {
		t.Fatalf("the same restore again: %+v, %v", again, err)
	}
	for _, c := range sources {
		if err := c.Step(t.Context(), "shop"); err != nil {
			t.Fatal(err)
		}
	}
	if sent := w.sent(); !slices.Equal(sent, []int{1, 1, 1}) {
		t.Errorf("RESTOREs sent per node %v, want one each", sent)
	}
	ask.FromCluster = "../c1"
	if _, err := reqs.RestoreSet(t.Context(), ask, func(string, string) {}); !errors.Is(err, control.ErrRejected) {
		t.Errorf("a cluster id that is no folder name: %v, want it rejected", err)
	}
}

// keysUnder lists every key under prefix in the world's bucket.
func keysUnder(t *testing.T, w *restoreWorld, prefix string) []string {
	t.Helper()
	l, err := w.store.List(context.Background(), prefix, true)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range l.Objects {
		keys = append(keys, o.Key)
	}
	slices.Sort(keys)
	return keys
}
