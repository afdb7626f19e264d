package cluster_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// TestOpenIndexDeletedBeforeItsWriteIsReadAgain: open.json deleted between
// a sidecar's read of it and its conditional write (S3 answers the
// If-Match 404) is read again, as missing, rebuilt from the sets' folder
// and written anew: the set is created and listed, not failed, and the
// set listed before, still open, is listed again.
func TestOpenIndexDeletedBeforeItsWriteIsReadAgain(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 1)
	store := &memstore.DeletedBeforeWrite{ObjectStore: memstore.New(), Suffix: "open.json"}
	c := cluster.New(store, w.layout, "vault", cluster.Member{Holder: coord.Holder{Name: "node1", Stable: true},
		Position: setmodel.Position{Shard: 1, Replica: 1}}, &executor{},
		cluster.Options{ClaimTTL: time.Minute, ShardTimeout: time.Hour, FullEvery: 24 * time.Hour}, slog.New(slog.DiscardHandler))
	c.SetClock(w.clock.Now)
	var sets []setmodel.Set
	for _, id := range []string{"r1", "r2"} {
		set, err := c.Create(ctx, cluster.Request{Database: "shop", RequestID: id, RequestedBy: "alice", Topology: w.topo})
		if err != nil {
			t.Fatalf("create the set of %s: %v", id, err)
		}
		sets = append(sets, set)
		w.clock.Add(time.Second)
	}
	if !store.Deleted() {
		t.Fatal("open.json was never written on a condition: the test deleted nothing")
	}
	data, _, err := store.Get(ctx, w.layout.OpenSetsKey("shop"))
	if err != nil {
		t.Fatal(err)
	}
	var open setmodel.OpenSets
	if err := json.Unmarshal(data, &open); err != nil || len(open.Sets) != 2 || open.Sets[0].ID != sets[0].ID ||
		open.Sets[1].ID != sets[1].ID || open.LastID != sets[1].ID {
		t.Fatalf("open.json lists %+v, last %s (%v), want both sets (the first listed again from its set.json)",
			open.Sets, open.LastID, err)
	}
}

// TestADeletedOpenIndexIsRebuiltFromTheSets: open.json deleted (by hand, a
// lifecycle rule) held when the newest full set was made and the newest
// set name given. The next set, made by a sidecar whose clock is 10
// minutes behind, is still an incremental after that full, and named after
// the newest set, though none is open.
func TestADeletedOpenIndexIsRebuiltFromTheSets(t *testing.T) {
	w := newWorld(t, 1, 1)
	ctx := context.Background()
	full, _ := w.backupSet(t, setRequest("b1", "auto"))
	w.clock.Add(time.Minute)
	incr, _ := w.backupSet(t, setRequest("b2", "auto"))
	if fs, _ := w.set(t, full.ID); fs.Kind != setmodel.KindFull || fs.State != setmodel.SetCompleted {
		t.Fatalf("the first set: %s %s, want a completed full", fs.Kind, fs.State)
	}
	if is, _ := w.set(t, incr.ID); is.Kind != setmodel.KindIncremental || is.State != setmodel.SetCompleted {
		t.Fatalf("the second set: %s %s, want a completed incremental", is.Kind, is.State)
	}
	if err := w.store.Delete(ctx, []string{w.layout.OpenSetsKey("shop")}); err != nil {
		t.Fatal(err)
	}
	behind := nodeWith(w, "cli", time.Hour, -10*time.Minute)
	next, err := behind.Create(ctx, cluster.Request{Database: "shop", RequestID: "b3", Topology: w.topo})
	if err != nil {
		t.Fatal(err)
	}
	if next.Kind != setmodel.KindIncremental || next.ID <= incr.ID {
		t.Errorf("the set after open.json was deleted: %s %s (%s), want an incremental named after %s",
			next.ID, next.Kind, next.KindReason, incr.ID)
	}
}

// TestARebuiltOpenIndexListsASetOfALongerTimeout: a set made by a node
// whose shard_timeout is a day, 8 hours before open.json was deleted, is
// still open; rebuilt by a node whose timeout is an hour, open.json lists
// it again.
func TestARebuiltOpenIndexListsASetOfALongerTimeout(t *testing.T) {
	w := newWorld(t, 1, 1)
	ctx := context.Background()
	long, err := nodeWith(w, "long", 24*time.Hour, 0).Create(ctx, cluster.Request{Database: "shop", RequestID: "b1", Topology: w.topo})
	if err != nil {
		t.Fatal(err)
	}
	w.clock.Add(8 * time.Hour)
	if err := w.store.Delete(ctx, []string{w.layout.OpenSetsKey("shop")}); err != nil {
		t.Fatal(err)
	}
	next, err := nodeWith(w, "short", time.Hour, 0).Create(ctx, cluster.Request{Database: "shop", RequestID: "b2", Topology: w.topo})
	if err != nil {
		t.Fatal(err)
	}
	if listed := w.open(t).Sets; len(listed) != 2 || listed[0].ID != long.ID || listed[1].ID != next.ID {
		t.Errorf("open.json lists %+v, want set %s (open a day) and %s, in order", listed, long.ID, next.ID)
	}
}

// nodeWith is a sidecar of shard 1 of w named name, its shard_timeout
// timeout, its clock off w's by skew.
func nodeWith(w *world, name string, timeout, skew time.Duration) *cluster.Coordinator {
	c := cluster.New(w.store, w.layout, "vault", cluster.Member{Holder: coord.Holder{Name: name, Stable: true},
		Position: setmodel.Position{Shard: 1, Replica: 1}}, nil, cluster.Options{ShardTimeout: timeout, FullEvery: 24 * time.Hour},
		slog.New(slog.DiscardHandler))
	c.SetClock(func() time.Time { return w.clock.Now().Add(skew) })
	return c
}
