package cluster_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/internal/fakedb"
	"github.com/clickvault/clickvault/sidecar/model"
)

// TestEngineShardChains: each node's engine backs its shard up into the
// shard's own folder; an incremental set makes each shard's incremental on
// that shard's own newest backup; a shard with no full of its own (new to
// the cluster) takes a full in an incremental set, saying why.
func TestEngineShardChains(t *testing.T) {
	w := newWorld(t, 1, 1, 1)
	dbs := make([]*fakedb.DB, 3)
	for i, n := range w.nodes {
		dbs[i] = fakedb.New(w.store)
		dbs[i].Create("shop", map[string]uint64{"orders": uint64(100 * (i + 1))})
		svc := sidecar.NewService(w.store, dbs[i].Ports(), nil, w.layout.Engine(i+1), sidecar.Options{PollInterval: time.Millisecond},
			slog.New(slog.DiscardHandler))
		n.c = cluster.New(w.store, w.layout, "vault", cluster.Member{Holder: n.c.Self().Holder,
			Position: setmodel.Position{Shard: i + 1, Replica: 1}}, cluster.Engine{Service: svc},
			cluster.Options{ShardTimeout: time.Hour}, slog.New(slog.DiscardHandler))
	}
	first := w.create(t, 0, cluster.Request{RequestID: "r1", Shards: []int{1, 2}})
	w.step(t, 0, 1, 2)
	second := w.create(t, 0, cluster.Request{RequestID: "r2"})
	w.step(t, 0, 1, 2)
	if first.Kind != setmodel.KindFull || second.Kind != setmodel.KindIncremental {
		t.Fatalf("kinds %s, %s", first.Kind, second.Kind)
	}
	got, results := w.set(t, second.ID)
	if got.State != setmodel.SetCompleted {
		t.Fatalf("second set %s: %v", got.State, got.Reasons)
	}
	_, firsts := w.set(t, first.ID)
	for shard := 1; shard <= 2; shard++ {
		r := results[shard]
		if r.Kind != string(model.KindIncremental) || !strings.HasPrefix(r.Folder, w.layout.ShardRoot("shop", shard)) {
			t.Errorf("shard %d: %+v, want an incremental in its own folder", shard, r)
		}
		if r.Base != firsts[shard].Backup || !strings.HasPrefix(firsts[shard].Folder, w.layout.ShardRoot("shop", shard)) {
			t.Errorf("shard %d's incremental is built on %s, want its own backup of the first set %s (%s)",
				shard, r.Base, firsts[shard].Backup, firsts[shard].Folder)
		}
		if r.Tables["orders"] != uint64(100*shard) {
			t.Errorf("shard %d's backup holds %v, want its node's %d rows", shard, r.Tables, 100*shard)
		}
	}
	if r := results[3]; r.Kind != string(model.KindFull) || !strings.Contains(r.KindReason, "no completed full of its own") {
		t.Errorf("shard 3, new to the sets: %+v", r)
	}
}

// TestEngineShardWithABrokenChainTakesAFull: in an incremental set, a
// shard whose chain lost an object takes a full and says why; the other
// shard takes its incremental.
func TestEngineShardWithABrokenChainTakesAFull(t *testing.T) {
	w := newWorld(t, 1, 1)
	for i, n := range w.nodes {
		db := fakedb.New(w.store)
		db.Create("shop", map[string]uint64{"orders": uint64(100 * (i + 1))})
		svc := sidecar.NewService(w.store, db.Ports(), nil, w.layout.Engine(i+1), sidecar.Options{PollInterval: time.Millisecond},
			slog.New(slog.DiscardHandler))
		n.c = cluster.New(w.store, w.layout, "vault", cluster.Member{Holder: n.c.Self().Holder,
			Position: setmodel.Position{Shard: i + 1, Replica: 1}}, cluster.Engine{Service: svc},
			cluster.Options{ShardTimeout: time.Hour}, slog.New(slog.DiscardHandler))
		n.c.SetClock(w.clock.Now)
	}
	first := w.create(t, 0, cluster.Request{RequestID: "r1"})
	w.step(t, 0, 1)
	_, firsts := w.set(t, first.ID)
	victim := firsts[1].Folder + "data/shop/orders/all_1_1_0/data.bin"
	if err := w.store.Delete(context.Background(), []string{victim}); err != nil {
		t.Fatal(err)
	}
	w.clock.Add(time.Second)
	second := w.create(t, 0, cluster.Request{RequestID: "r2", Kind: setmodel.KindIncremental})
	w.step(t, 0, 1)
	got, results := w.set(t, second.ID)
	if got.State != setmodel.SetCompleted {
		t.Fatalf("second set %s: %v", got.State, got.Reasons)
	}
	if r := results[1]; r.Kind != string(model.KindFull) || !strings.Contains(r.KindReason, "chain is broken") {
		t.Errorf("shard 1, its chain broken: %+v, want a full saying why", r)
	}
	if r := results[2]; r.Kind != string(model.KindIncremental) {
		t.Errorf("shard 2: %+v, want its incremental", r)
	}
}

// TestARestoreFromACopyGoneFromTheConfigIsStillAwaited: a step's RESTORE
// read a [[copy]] target since removed from this node's configuration. The
// operation is the node's own, so it is awaited through the primary's
// engine and ends as it ended. (Taken as no verdict, the step stayed
// started, and every run after it waited its deadline on the same target.)
func TestARestoreFromACopyGoneFromTheConfigIsStillAwaited(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 1)
	db := fakedb.New(w.store)
	db.Create("shop", map[string]uint64{"orders": 10})
	svc := sidecar.NewService(w.store, db.Ports(), nil, w.layout.Engine(1), sidecar.Options{PollInterval: time.Millisecond},
		slog.New(slog.DiscardHandler))
	b, err := svc.Backup(ctx, sidecar.BackupRequest{Database: "shop", RequestID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	cmd := sidecar.RestoreCommand{ID: "op1", Database: "shop", Target: "shop_back", Folder: b.Folder, NewDatabase: true,
		CreateTable: sidecar.CreateTableNew}
	if err := svc.Steps().Start(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	if err := (cluster.RestoreEngine{Service: svc}).Await(ctx, "op1", b.Folder, "shop_back", "dr"); err != nil {
		t.Fatalf("a RESTORE from a copy target no longer configured: %v; want it awaited to its end", err)
	}
}
