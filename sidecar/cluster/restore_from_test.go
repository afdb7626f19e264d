package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
	"github.com/clickvault/clickvault/sidecar/model"
)

// TestSetRestoreFromAnotherCluster: a set of cluster c1 is restored onto
// cluster c2 (nodes of its own, the same bucket and prefix): every shard's
// backup is planned from c1's chains, its rows are on c2's nodes and the
// answer names c1. Nothing is written under c1: the record is in c2's
// folder and listed in c2's open.json only, so c1's nodes, stepping all
// along, run none of its steps. Run again, it adds nothing.
func TestSetRestoreFromAnotherCluster(t *testing.T) {
	w := newRestoreWorld(t, 1, 1, 1)
	before := keysUnder(t, w, "p/c1/")
	staging := w.layout.WithID("c2")
	var sources []*node
	for i, n := range w.nodes {
		sources = append(sources, &node{name: n.name, c: n.c, exec: n.exec})
		self := n.c.Self()
		self.Holder.Name = "staging" + self.Holder.Name
		n.c = cluster.New(w.store, staging, "vault2", self, n.exec, cluster.Options{ClaimTTL: time.Minute,
			ShardTimeout: time.Hour, Restorer: w.servers[i]}, slog.New(slog.DiscardHandler))
		n.c.SetClock(w.clock.Now)
	}
	w.nodes = append(w.nodes, sources...) // c1's nodes step beside c2's
	reqs := w.requests()
	plan := reqs.Plan
	var plannedFrom []string
	reqs.Plan = func(ctx context.Context, from cluster.Source, db string, shard int, backup, target string, c model.Consumers) (model.RestorePlan, error) {
		plannedFrom = append(plannedFrom, from.ClusterID)
		return plan(ctx, from, db, shard, backup, target, c)
	}
	ask := control.SetRestoreRequest{SourceCluster: "c1", RequestID: "r1", RequestedBy: "ops", Operator: true}
	out, err := w.restoreBy(t, reqs, ask, nil)
	if err != nil || !out.Restored() || out.Ran != 3 || !strings.Contains(out.Message(), "set "+w.set.ID+" of cluster c1 into shop restored") {
		t.Fatalf("restore of c1's set onto c2: %+v, %v", out, err)
	}
	if !slices.Equal(plannedFrom, []string{"c1", "c1", "c1"}) {
		t.Errorf("the shards' backups were planned from the chains of clusters %v, want c1's", plannedFrom)
	}
	for i, srv := range w.servers {
		if got, want := srv.rows("shop")["orders"], uint64(100*(i+1)); got != want {
			t.Errorf("node %d holds %d rows, want shard %d's %d", i+1, got, i+1, want)
		}
	}
	for _, s := range out.Steps {
		if !strings.HasPrefix(s.Node, "staging") {
			t.Errorf("step %s was run by %s, not a node of c2", s.Key, s.Node)
		}
	}
	if after := keysUnder(t, w, "p/c1/"); !slices.Equal(after, before) {
		t.Errorf("the restore wrote under the source cluster's id:\nbefore %v\nafter  %v", before, after)
	}
	if _, _, err := w.store.Get(t.Context(), staging.SourceRestoreKey("shop", "c1", w.set.ID, "shop", 0)); err != nil {
		t.Errorf("the record is not in c2's folder: %v", err)
	}
	ask.RequestID = "r2"
	if again, err := w.restoreBy(t, reqs, ask, nil); err != nil || !again.Restored() || again.Ran != 0 {
		t.Fatalf("the same restore again: %+v, %v", again, err)
	}
	if sent := w.sent(); !slices.Equal(sent, []int{1, 1, 1}) {
		t.Errorf("RESTOREs sent per node %v, want one each", sent)
	}
	ask.SourceCluster = "../c1"
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

// TestSetRestoreFromAnotherClusterRefusesWhatPointsOut: whoever may write
// the source cluster's folder cannot aim a restore elsewhere: a shard's
// result naming a folder that is not its backup's (another cluster's, one
// by "..", another backup of the same shard, which the plan would not
// have read) is refused before anything is written or listed.
func TestSetRestoreFromAnotherClusterRefusesWhatPointsOut(t *testing.T) {
	for _, folder := range []string{"p/c3/shop/shard-2/full/b2/", "p/c1/shop/shard-2/../../../c3/shop/shard-2/full/b2/",
		"p/c1/shop/shard-2/full/b9/"} {
		w := newRestoreWorld(t, 1, 1, 1)
		key := w.layout.ResultKey("shop", w.set.ID, 2)
		data, _, err := w.store.Get(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		var res setmodel.ShardResult
		if err := json.Unmarshal(data, &res); err != nil {
			t.Fatal(err)
		}
		res.Folder = folder
		data, _ = json.Marshal(res)
		if _, err := w.store.Put(t.Context(), key, data, coord.PutCondition{}); err != nil {
			t.Fatal(err)
		}
		staging := w.layout.WithID("c2")
		reqs := w.requests()
		reqs.Coord = cluster.New(w.store, staging, "vault2", w.nodes[0].c.Self(), nil, cluster.Options{}, slog.New(slog.DiscardHandler))
		_, err = reqs.RestoreSet(t.Context(), control.SetRestoreRequest{Database: "shop", SourceCluster: "c1", RequestID: "r1", Operator: true},
			func(string, string) {})
		if !errors.Is(err, control.ErrRejected) || !strings.Contains(err.Error(), "not the folder of a backup of its own") {
			t.Errorf("shard 2's result naming %s: %v, want it rejected", folder, err)
		}
		if keys := keysUnder(t, w, "p/c2/"); len(keys) != 0 {
			t.Errorf("shard 2's result naming %s: written under c2: %v", folder, keys)
		}
	}
}

// TestSetsTakeOnlyWhatTheirFolderNames: a set.json that names another set
// or database than its folder's is an error, not a set read as another;
// a folder of the sets that is no set's name (".."; a space) is no set.
func TestSetsTakeOnlyWhatTheirFolderNames(t *testing.T) {
	w := newWorld(t, 1)
	for _, id := range []string{"..", "a b"} {
		if _, err := w.store.Put(t.Context(), "p/c1/shop/sets/"+id+"/set.json", []byte("{}"), coord.PutCondition{}); err != nil {
			t.Fatal(err)
		}
	}
	if sets, err := w.nodes[0].c.Sets(t.Context(), "shop"); err != nil || len(sets) != 0 {
		t.Fatalf("sets %v, %v; want none, no error", sets, err)
	}
	other, _ := json.Marshal(setmodel.Set{Version: setmodel.SetVersion, ID: "s2", Database: "shop"})
	if _, err := w.store.Put(t.Context(), w.layout.SetKey("shop", "s1"), other, coord.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.nodes[0].c.Sets(t.Context(), "shop"); err == nil || !strings.Contains(err.Error(), `names set "s2"`) {
		t.Errorf("set.json of s1 naming s2: %v, want an error saying so", err)
	}
}

// TestSetRestoreFromACopyGoesOnWhereThePrimaryFailed: a set's restore
// fails on shard 2, whose backup is broken in the primary bucket; asked
// again reading the copy target dr, which holds the set whole, it runs
// only that step, reading shard 2's backup at the copy, and says so.
// A copy target the node cannot open is a rejection naming it.
func TestSetRestoreFromACopyGoesOnWhereThePrimaryFailed(t *testing.T) {
	w := newRestoreWorld(t, 1, 1, 1)
	dr := copySetTo(t, w, "dr")
	w.servers[1].broken = w.layout.ShardRoot("shop", 2)
	out, err := w.restore(t, control.SetRestoreRequest{RequestID: "r1", RequestedBy: "alice"}, nil)
	if err != nil || out.Restored() {
		t.Fatalf("restore with shard 2's backup broken: %+v, %v", out, err)
	}
	reqs := w.requests()
	reqs.Copies = func(_ context.Context, name string) (coord.ObjectStore, string, error) {
		if name != "dr" {
			return nil, "", errors.New("no copy target " + name)
		}
		return dr, "dr", nil
	}
	again, err := w.restoreBy(t, reqs, control.SetRestoreRequest{SourceCopy: "dr", RequestID: "r2", RequestedBy: "alice"}, nil)
	if err != nil || !again.Restored() || again.Ran != 1 || !strings.Contains(again.Message(), "(read from copy target dr)") {
		t.Fatalf("the same restore from the copy: %+v, %v", again, err)
	}
	if sent := w.sent(); !slices.Equal(sent, []int{1, 2, 1}) {
		t.Errorf("RESTOREs sent per node %v, want shard 2's twice and the others' once", sent)
	}
	last := w.servers[1].sent[1]
	if w.servers[1].copies[1] != "dr" || !strings.HasPrefix(last.Folder, "dr/c1/shop/shard-2/") {
		t.Errorf("shard 2's second RESTORE read %q at copy %q, want its backup at dr", last.Folder, w.servers[1].copies[1])
	}
	// Its failed RESTORE from the primary is awaited again through the
	// primary's engine, the new one from dr through dr's (each redactor
	// knows its own source's credentials).
	if awaited := w.servers[1].awaited; !slices.Equal(awaited, []string{"", "", "dr"}) {
		t.Errorf("shard 2's RESTOREs were awaited through %q, want the primary's twice, then dr's", awaited)
	}
	if got := w.servers[1].rows("shop")["orders"]; got != 200 {
		t.Errorf("node 2 holds %d rows, want shard 2's 200", got)
	}
	_, err = reqs.RestoreSet(t.Context(), control.SetRestoreRequest{Database: "shop", SourceCopy: "gone", RequestID: "r3"}, func(string, string) {})
	if !errors.Is(err, control.ErrRejected) || !strings.Contains(err.Error(), "gone") {
		t.Errorf("a copy target the node cannot open: %v, want a rejection naming it", err)
	}
}

// TestSetRestoreFromACopyRefusesAnotherSetOfThatName: a restore the
// primary failed part way is not gone on with from a copy target whose
// set of that name names another backup for a step not done: that is not
// the same set, and the answer says so.
func TestSetRestoreFromACopyRefusesAnotherSetOfThatName(t *testing.T) {
	w := newRestoreWorld(t, 1, 1, 1)
	dr := copySetTo(t, w, "dr")
	at := w.layout
	at.Prefix = "dr"
	putCopyResult(t, w, dr, "dr", setmodel.ShardResult{Version: setmodel.SetVersion, Set: w.set.ID, Database: "shop", Shard: 2,
		State: setmodel.ShardSucceeded, Backup: "b7", Kind: "full", Folder: at.Engine(2).Folder("shop", "full", "b7")})
	w.servers[1].broken = w.layout.ShardRoot("shop", 2)
	if out, err := w.restore(t, control.SetRestoreRequest{RequestID: "r1", RequestedBy: "alice"}, nil); err != nil || out.Restored() {
		t.Fatalf("restore with shard 2's backup broken: %+v, %v", out, err)
	}
	reqs := w.requests()
	reqs.Copies = func(context.Context, string) (coord.ObjectStore, string, error) { return dr, "dr", nil }
	_, err := w.restoreBy(t, reqs, control.SetRestoreRequest{SourceCopy: "dr", RequestID: "r2"}, nil)
	if !errors.Is(err, control.ErrRejected) || !strings.Contains(err.Error(), "not the same set") {
		t.Errorf("going on from a copy whose set names b7 for shard 2: %v, want it refused", err)
	}
}

// TestSetRestoreFromACopyRefusesAResultPointingOut: a copy target's result
// naming a folder that is not its backup's there (the primary's, say) is
// refused before anything is listed: the copy is read only where it holds
// the set.
func TestSetRestoreFromACopyRefusesAResultPointingOut(t *testing.T) {
	w := newRestoreWorld(t, 1, 1, 1)
	dr := copySetTo(t, w, "dr")
	putCopyResult(t, w, dr, "dr", setmodel.ShardResult{Version: setmodel.SetVersion, Set: w.set.ID, Database: "shop", Shard: 2,
		State: setmodel.ShardSucceeded, Backup: "b2", Kind: "full", Folder: w.layout.Engine(2).Folder("shop", "full", "b2")})
	reqs := w.requests()
	reqs.Copies = func(context.Context, string) (coord.ObjectStore, string, error) { return dr, "dr", nil }
	_, err := w.restoreBy(t, reqs, control.SetRestoreRequest{SourceCopy: "dr", RequestID: "r1"}, nil)
	if !errors.Is(err, control.ErrRejected) || !strings.Contains(err.Error(), "not the folder of a backup of its own") {
		t.Errorf("a copy's result naming the primary's folder: %v, want it refused", err)
	}
	if open := w.open(t); len(open.Restores) != 0 {
		t.Errorf("open.json lists %+v", open.Restores)
	}
}

// putCopyResult writes res as its shard's result of w's set at the copy
// target under prefix (store dr), in place of what was there.
func putCopyResult(t *testing.T, w *restoreWorld, dr coord.ObjectStore, prefix string, res setmodel.ShardResult) {
	t.Helper()
	at := w.layout
	at.Prefix = prefix
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dr.Put(t.Context(), at.ResultKey("shop", w.set.ID, res.Shard), data, coord.PutCondition{}); err != nil {
		t.Fatal(err)
	}
}

// copySetTo copies the world's set to a copy target under prefix, as
// SetCopy leaves it: each shard's result naming its backup's folder there,
// then set.json.
func copySetTo(t *testing.T, w *restoreWorld, prefix string) *memstore.ObjectStore {
	t.Helper()
	target := memstore.New()
	at := w.layout
	at.Prefix = prefix
	ctx := t.Context()
	for _, n := range w.set.Shards {
		data, _, err := w.store.Get(ctx, w.layout.ResultKey("shop", w.set.ID, n))
		if err != nil {
			t.Fatal(err)
		}
		var res setmodel.ShardResult
		if err := json.Unmarshal(data, &res); err != nil {
			t.Fatal(err)
		}
		res.Folder = strings.Replace(res.Folder, w.layout.ShardRoot("shop", n), at.ShardRoot("shop", n), 1)
		data, _ = json.Marshal(res)
		if _, err := target.Put(ctx, at.ResultKey("shop", w.set.ID, n), data, coord.PutCondition{}); err != nil {
			t.Fatal(err)
		}
	}
	data, _, err := w.store.Get(ctx, w.layout.SetKey("shop", w.set.ID))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := target.Put(ctx, at.SetKey("shop", w.set.ID), data, coord.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	return target
}
