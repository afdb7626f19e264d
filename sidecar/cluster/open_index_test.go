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
// If-Match 404) is read again, as missing, and written anew: the set is
// created and listed, not failed.
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
	if err := json.Unmarshal(data, &open); err != nil || len(open.Sets) != 1 || open.Sets[0].ID != sets[1].ID {
		t.Fatalf("open.json lists %+v (%v), want the second set alone (the first was deleted with it)", open.Sets, err)
	}
}
