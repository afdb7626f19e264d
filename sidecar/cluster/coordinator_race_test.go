package cluster_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// hookStore runs a hook before each Put, to make a race happen at an
// exact point.
type hookStore struct {
	coord.ObjectStore
	beforePut func(key string)
}

func (h *hookStore) Put(ctx context.Context, key string, data []byte, cond coord.PutCondition) (string, error) {
	if h.beforePut != nil {
		h.beforePut(key)
	}
	return h.ObjectStore.Put(ctx, key, data, cond)
}

// TestResultWrittenJustBeforeTheClaim: node2 finds no result, and just
// before it writes its claim node1 finishes shard 1 (its result written,
// its claim let go). node2 wins the claim and must not back shard 1 up
// again: it reads the result again under the claim.
func TestResultWrittenJustBeforeTheClaim(t *testing.T) {
	w := newWorld(t, 2)
	set := w.create(t, 0, cluster.Request{RequestID: "r1"})
	claimKey := w.layout.ClaimKey("shop", set.ID, 1)
	var once sync.Once
	hooked := &hookStore{ObjectStore: w.store, beforePut: func(key string) {
		if key == claimKey {
			once.Do(func() { w.step(t, 0) }) // node1 backs up, writes its result and lets go of its claim
		}
	}}
	n2 := w.nodes[1]
	self := cluster.Member{Holder: coord.Holder{Name: "node2", Stable: true}, Position: setmodel.Position{Shard: 1, Replica: 2}}
	racer := cluster.New(hooked, w.layout, "vault", self, n2.exec, cluster.Options{ShardTimeout: time.Hour}, slog.New(slog.DiscardHandler))
	racer.SetClock(w.clock.Now)
	if err := racer.Step(context.Background(), "shop"); err != nil {
		t.Fatal(err)
	}
	if n1, n2 := len(w.nodes[0].exec.jobs()), len(n2.exec.jobs()); n1 != 1 || n2 != 0 {
		t.Errorf("shard 1 backed up by node1 %d times and node2 %d times, want once by node1", n1, n2)
	}
}

// TestSidecarsRacing: five sidecars of three shards (two, two and one
// replicas) step three sets at once, again and again: every shard of every
// set is backed up exactly once and every set is sealed completed once.
func TestSidecarsRacing(t *testing.T) {
	w := newWorld(t, 2, 2, 1)
	for _, n := range w.nodes {
		n.c.SetClock(time.Now)
		n.exec.fn = func(context.Context, cluster.Job) (setmodel.ShardResult, error) {
			time.Sleep(time.Millisecond)
			return setmodel.ShardResult{Backup: "b"}, nil
		}
	}
	var ids []string
	for i := range 3 {
		ids = append(ids, w.create(t, i, cluster.Request{RequestID: fmt.Sprint("r", i)}).ID)
	}
	var wg sync.WaitGroup
	for _, n := range w.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if err := n.c.Step(context.Background(), "shop"); err != nil {
					t.Errorf("%s: %v", n.name, err)
				}
			}
		}()
	}
	wg.Wait()
	perShard := map[string]int{}
	for _, n := range w.nodes {
		for _, job := range n.exec.jobs() {
			perShard[fmt.Sprintf("%s/%d", job.Set.ID, job.Shard)]++
		}
	}
	for _, id := range ids {
		for shard := 1; shard <= 3; shard++ {
			if got := perShard[fmt.Sprintf("%s/%d", id, shard)]; got != 1 {
				t.Errorf("set %s shard %d backed up %d times, want 1", id, shard, got)
			}
		}
		if set, _ := w.set(t, id); set.State != setmodel.SetCompleted {
			t.Errorf("set %s is %s", id, set.State)
		}
	}
	if open := w.open(t); len(open.Sets) != 0 {
		t.Errorf("sealed sets still listed: %+v", open.Sets)
	}
}

// TestNextSetAfterACompletedFullIsIncremental: a requester reads its full
// set completed and asks for the next set at once, before the sealer has
// unlisted the set from open.json: the next set is an incremental, not a
// second full (the newest full set is noted before its seal is written).
func TestNextSetAfterACompletedFullIsIncremental(t *testing.T) {
	w := newWorld(t, 1)
	first := w.create(t, 0, cluster.Request{RequestID: "r1"})
	var second setmodel.Set
	var once sync.Once
	hooked := &hookStore{ObjectStore: w.store, beforePut: func(key string) {
		if key != w.layout.OpenSetsKey("shop") {
			return
		}
		if set, _ := w.set(t, first.ID); set.State == setmodel.SetCompleted {
			once.Do(func() { second = w.create(t, 0, cluster.Request{RequestID: "r2"}) })
		}
	}}
	n := w.nodes[0]
	sealer := cluster.New(hooked, w.layout, "vault", n.c.Self(), n.exec,
		cluster.Options{ClaimTTL: time.Minute, ShardTimeout: time.Hour, FullEvery: 24 * time.Hour}, slog.New(slog.DiscardHandler))
	sealer.SetClock(w.clock.Now)
	if err := sealer.Step(context.Background(), "shop"); err != nil {
		t.Fatal(err)
	}
	if set, _ := w.set(t, first.ID); set.State != setmodel.SetCompleted || second.ID == "" {
		t.Fatalf("set %s is %s; read completed while still listed: %v", first.ID, set.State, second.ID != "")
	}
	if second.Kind != setmodel.KindIncremental {
		t.Errorf("the set asked for right after a completed full is %s (%s), want incremental", second.Kind, second.KindReason)
	}
}
