package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// TestOneSidecarPerNode: a second sidecar given the same shard
// and replica as a running one (a copied configuration) takes no part in
// sets while the first holds the node's lease — not even a set the first
// has not reached, which it would otherwise claim and back up (or, for a
// restore, send a step the first already sent) — and takes the lease
// when the first stops.
func TestOneSidecarPerNode(t *testing.T) {
	w := newWorldWith(t, func(_ int, o *cluster.Options) { o.ClaimTTL = 3 * time.Second }, 1)
	first := w.nodes[0]
	busy := make(chan struct{})
	first.exec.fn = func(ctx context.Context, job cluster.Job) (setmodel.ShardResult, error) {
		select { // the first works its sets one at a time: the second set waits
		case <-busy:
		case <-ctx.Done():
		}
		return setmodel.ShardResult{Backup: "b-" + job.Set.ID, Kind: job.Set.Kind}, nil
	}
	twin := &executor{}
	second := cluster.New(w.store, w.layout, "vault", cluster.Member{Holder: coord.Holder{Name: "twin", Stable: true},
		Position: setmodel.Position{Shard: 1, Replica: 1}}, twin, cluster.Options{ClaimTTL: 3 * time.Second, ShardTimeout: time.Hour},
		slog.New(slog.DiscardHandler))
	second.SetClock(w.clock.Now)

	firstCtx, stopFirst := context.WithCancel(context.Background())
	firstDone := run(first.c, firstCtx)
	waitUntil(t, "the first sidecar holds the node's lease", func() bool { return nodeLeaseHolder(t, w) == first.name })
	secondCtx, stopSecond := context.WithCancel(context.Background())
	defer stopSecond()
	secondDone := run(second, secondCtx)

	for i := range 2 {
		w.clock.Add(time.Second) // a set's name is its time
		w.create(t, 0, cluster.Request{RequestID: fmt.Sprintf("r%d", i), RequestedBy: "alice"})
	}
	waitUntil(t, "the first sidecar backs up the first set", func() bool { return len(first.exec.jobs()) == 1 })
	time.Sleep(300 * time.Millisecond) // thirty of the second's polls, were it working
	if jobs := twin.jobs(); len(jobs) != 0 {
		t.Fatalf("the second sidecar backed up %d shards while the first held the node's lease", len(jobs))
	}
	close(busy)
	waitUntil(t, "the first sidecar records both sets", func() bool {
		return len(w.open(t).Sets) == 0 // sealed, so recorded
	})
	stopFirst()
	<-firstDone

	waitUntil(t, "the second sidecar takes the lease the first gave up", func() bool { return nodeLeaseHolder(t, w) == "twin" })
	w.clock.Add(time.Second)
	third := w.create(t, 0, cluster.Request{RequestID: "r3", RequestedBy: "alice"})
	waitUntil(t, "the second sidecar backs up the third set", func() bool {
		jobs := twin.jobs()
		return len(jobs) == 1 && jobs[0].Set.ID == third.ID
	})
	if n := len(first.exec.jobs()); n != 2 {
		t.Fatalf("the first sidecar backed up %d shards, want the first two sets'", n)
	}
	stopSecond()
	<-secondDone
}

// run runs c's Run until ctx ends; the channel closes when it returns.
func run(c *cluster.Coordinator, ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx, []string{"shop"}, 10*time.Millisecond)
	}()
	return done
}

// nodeLeaseHolder is who holds the lease of shard 1's replica 1 ("" for no one).
func nodeLeaseHolder(t *testing.T, w *world) string {
	t.Helper()
	data, _, err := w.store.Get(context.Background(), w.layout.NodeLeaseKey("vault", 1, 1))
	if err != nil {
		return ""
	}
	var l coord.LeaseInfo
	if err := json.Unmarshal(data, &l); err != nil {
		t.Fatalf("the node's lease: %v", err)
	}
	return l.Holder
}

// waitUntil polls cond every 10 ms for up to 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10 s: %s", what)
		}
	}
}
