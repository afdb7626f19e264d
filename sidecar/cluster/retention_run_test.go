package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// chains is a func-free fake of every shard's chains: the links each
// shard's backups made, and what was deleted, in order.
type chains struct {
	onLinks func() // called as a cleanup reads the links: after it read open.json
	mu      sync.Mutex
	links   map[int][]setmodel.Link
	deleted map[int][]string
	refuse  map[int]error // a shard whose deletions fail with it (a pin, S3 down)
}

func (c *chains) Links(_ context.Context, _ string, shard int) ([]setmodel.Link, error) {
	if c.onLinks != nil {
		c.onLinks()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.links[shard]), nil
}

func (c *chains) Delete(_ context.Context, _ string, shard int, names []string) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.refuse[shard]; err != nil {
		return nil, err
	}
	c.deleted[shard] = append(c.deleted[shard], names...)
	c.links[shard] = slices.DeleteFunc(c.links[shard], func(l setmodel.Link) bool { return slices.Contains(names, l.Name) })
	return names, nil
}

// recordBackups makes each node's shard backup a link of its own in c,
// named {set}-{shard}, an incremental built on the shard's link before.
func (c *chains) recordBackups(w *world) {
	for _, n := range w.nodes {
		shard := n.c.Self().Position.Shard
		n.exec.fn = func(_ context.Context, job cluster.Job) (setmodel.ShardResult, error) {
			c.mu.Lock()
			defer c.mu.Unlock()
			name, base := fmt.Sprintf("%s-%d", job.Set.ID, shard), ""
			if job.Set.Kind == setmodel.KindIncremental {
				base = c.links[shard][len(c.links[shard])-1].Name
			}
			c.links[shard] = append(c.links[shard], setmodel.Link{Name: name, Base: base})
			return setmodel.ShardResult{Backup: name, Base: base, Kind: job.Set.Kind}, nil
		}
	}
}

// TestCleanupSets: three sets (full, incremental, full) of two shards,
// keep_full_sets 1: a dry run deletes nothing; the cleanup deletes the
// first two sets' records and their backups on every shard, keeps the
// newest full set; a set being restored is kept whatever the policy.
func TestCleanupSets(t *testing.T) {
	w := newWorld(t, 1, 1)
	ch := &chains{links: map[int][]setmodel.Link{}, deleted: map[int][]string{}}
	ch.recordBackups(w)
	var ids []string
	for i, kind := range []string{"full", "incremental", "full"} {
		out, _ := w.backupSet(t, control.SetRequest{Database: "shop", Kind: kind, RequestID: fmt.Sprintf("b%d", i)})
		ids = append(ids, out.ID)
		w.clock.Add(time.Hour)
	}
	reqs := cluster.Requests{Coord: w.nodes[0].c, Chains: ch, Policy: setmodel.SetPolicy{KeepFullSets: 1}}
	dry, err := reqs.CleanupSets(context.Background(), "shop", true)
	if err != nil || !slices.Equal(dry.DeletedSets, ids[:2]) || len(ch.deleted) != 0 || len(w.sets(t)) != 3 {
		t.Fatalf("dry run: %+v, %v; deleted %v", dry, err, ch.deleted)
	}
	out, err := reqs.CleanupSets(context.Background(), "shop", false)
	if err != nil || !slices.Equal(out.DeletedSets, ids[:2]) || out.KeptSets != 1 {
		t.Fatalf("cleanup: %+v, %v", out, err)
	}
	for shard := 1; shard <= 2; shard++ {
		want := []string{fmt.Sprintf("%s-%d", ids[1], shard), fmt.Sprintf("%s-%d", ids[0], shard)} // dependents first
		if !slices.Equal(ch.deleted[shard], want) {
			t.Errorf("shard %d: deleted %v, want %v", shard, ch.deleted[shard], want)
		}
	}
	if got := w.sets(t); !slices.Equal(got, ids[2:]) {
		t.Errorf("sets left %v, want %v", got, ids[2:])
	}
	if l, _ := w.store.List(context.Background(), w.layout.SetRoot("shop", ids[0]), true); len(l.Objects) != 0 {
		t.Errorf("set %s's records left: %v", ids[0], l.Objects)
	}
	// A set being restored is kept, even past the policy.
	out4, _ := w.backupSet(t, control.SetRequest{Database: "shop", Kind: "full", RequestID: "b4"})
	w.restoring(t, ids[2], "")
	if out, err := reqs.CleanupSets(context.Background(), "shop", false); err != nil || len(out.DeletedSets) != 0 {
		t.Errorf("with set %s being restored: %+v, %v", ids[2], out, err)
	}
	if got := w.sets(t); !slices.Equal(got, []string{ids[2], out4.ID}) {
		t.Errorf("sets left %v", got)
	}
}

// TestCleanupSetsKeepsNoSetForAnotherClustersRestore: a restore of
// another cluster's set, listed in this cluster's open.json, keeps none
// of this cluster's sets, though one of them has its set's name.
func TestCleanupSetsKeepsNoSetForAnotherClustersRestore(t *testing.T) {
	w, ch, ids := twoFullSets(t)
	w.restoring(t, ids[0], "c0")
	reqs := cluster.Requests{Coord: w.nodes[0].c, Chains: ch, Policy: setmodel.SetPolicy{KeepFullSets: 1}}
	if out, err := reqs.CleanupSets(context.Background(), "shop", false); err != nil || !slices.Equal(out.DeletedSets, ids[:1]) {
		t.Errorf("with c0's set %s being restored here: %+v, %v; want this cluster's %s deleted", ids[0], out, err, ids[0])
	}
}

// sets are the ids of the sets in the bucket, in order.
func (w *world) sets(t *testing.T) []string {
	t.Helper()
	sets, err := w.nodes[0].c.Sets(context.Background(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range sets {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	return ids
}

// restoring lists a restore of set id (of the source cluster, "" = this
// one's) in open.json, as a running one is.
func (w *world) restoring(t *testing.T, id, source string) {
	t.Helper()
	ctx := context.Background()
	key := w.layout.OpenSetsKey("shop")
	data, etag, err := w.store.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	var open setmodel.OpenSets
	if err := json.Unmarshal(data, &open); err != nil {
		t.Fatal(err)
	}
	open.Restores = append(open.Restores, setmodel.OpenRestore{Set: id, Target: "shop", SourceCluster: source, Run: "r9",
		Deadline: w.clock.Now().Add(time.Hour)})
	data, _ = json.Marshal(open)
	if _, err := w.store.Put(ctx, key, data, coord.PutCondition{IfMatch: etag}); err != nil {
		t.Fatal(err)
	}
}

// TestCleanupSetsStoppedPartWayIsFinishedLater: when one shard's backups
// cannot be deleted (a check's pin), the cleanup keeps the set's records,
// marked deleting: no restore chooses it, and the next cleanup deletes
// what was left and then the records. Deleting the records first left the
// backups named by no set, never deleted.
func TestCleanupSetsStoppedPartWayIsFinishedLater(t *testing.T) {
	w, ch, ids := twoFullSets(t)
	ctx := context.Background()
	reqs := cluster.Requests{Coord: w.nodes[0].c, Chains: ch, Policy: setmodel.SetPolicy{KeepFullSets: 1}}
	ch.refuse[2] = errors.New("backup is pinned by a check")
	out, err := reqs.CleanupSets(ctx, "shop", false)
	if err == nil || len(out.DeletedSets) != 0 || !slices.Equal(ch.deleted[1], []string{ids[0] + "-1"}) {
		t.Fatalf("with shard 2 refusing: %+v, %v; deleted %v", out, err, ch.deleted)
	}
	if !strings.Contains(strings.Join(out.Problems, "; "), "set "+ids[0]+" is marked deleting") {
		t.Errorf("problems %q do not say the set is kept deleting", out.Problems)
	}
	sets, _ := w.nodes[0].c.Sets(ctx, "shop")
	if len(sets) != 2 || sets[0].State != setmodel.SetDeleting {
		t.Fatalf("sets after the stopped cleanup: %+v", sets)
	}
	if _, err := setmodel.ChooseSet(sets, setmodel.SetWanted{Name: ids[0]}); err == nil || !strings.Contains(err.Error(), "being deleted") {
		t.Errorf("a restore of the set being deleted: %v", err)
	}
	if s, err := setmodel.ChooseSet(sets, setmodel.SetWanted{AsOf: sets[0].CreatedAt}); err == nil {
		t.Errorf("as_of its time chose %s", s.ID)
	}
	delete(ch.refuse, 2)
	reqs.Policy.KeepFullSets = 5 // raised since: a set being deleted is deleted still, its backups part gone
	out, err = reqs.CleanupSets(ctx, "shop", false)
	if err != nil || !slices.Equal(out.DeletedSets, ids[:1]) || !slices.Equal(ch.deleted[2], []string{ids[0] + "-2"}) {
		t.Fatalf("the next cleanup: %+v, %v; deleted %v", out, err, ch.deleted)
	}
	if got := w.sets(t); !slices.Equal(got, ids[1:]) {
		t.Errorf("sets left %v, want %v", got, ids[1:])
	}
	if l, _ := w.store.List(ctx, w.layout.SetRoot("shop", ids[0]), true); len(l.Objects) != 0 {
		t.Errorf("set %s's records left: %v", ids[0], l.Objects)
	}
}

// TestCleanupSetsKeepsASetWhoseRestoreBegan: a restore of the set to
// delete is listed after the cleanup read open.json and before its marks;
// the cleanup reads open.json again after marking, keeps the set (marked
// deleting, so the next cleanup deletes it) and deletes nothing of it.
func TestCleanupSetsKeepsASetWhoseRestoreBegan(t *testing.T) {
	w, ch, ids := twoFullSets(t)
	var once sync.Once
	ch.onLinks = func() { once.Do(func() { w.restoring(t, ids[0], "") }) }
	reqs := cluster.Requests{Coord: w.nodes[0].c, Chains: ch, Policy: setmodel.SetPolicy{KeepFullSets: 1}}
	out, err := reqs.CleanupSets(context.Background(), "shop", false)
	if err != nil || len(out.DeletedSets) != 0 || len(ch.deleted) != 0 || out.KeptSets != 2 {
		t.Fatalf("cleanup with a restore of %s listed meanwhile: %+v, %v; deleted %v", ids[0], out, err, ch.deleted)
	}
	if got := w.sets(t); !slices.Equal(got, ids) {
		t.Errorf("sets left %v, want both", got)
	}
}

// twoFullSets is a world of two shards with two full sets an hour apart,
// each shard's backup a link of its own in ch (named {set}-{shard}).
func twoFullSets(t *testing.T) (*world, *chains, []string) {
	t.Helper()
	w := newWorld(t, 1, 1)
	ch := &chains{links: map[int][]setmodel.Link{}, deleted: map[int][]string{}, refuse: map[int]error{}}
	ch.recordBackups(w)
	var ids []string
	for i := range 2 {
		out, _ := w.backupSet(t, control.SetRequest{Database: "shop", Kind: "full", RequestID: fmt.Sprintf("b%d", i)})
		ids = append(ids, out.ID)
		w.clock.Add(time.Hour)
	}
	return w, ch, ids
}

// TestCleanupAtACopyKeepsSetsBeingCopied: at a copy target a set's
// results arrive before its set.json (SetCopy). With one full set kept,
// the older full set goes; but a set being copied there whose shard-1
// result names that set's shard-1 backup keeps that backup and its own
// records, as an open set would: whole later, it restores. A folder made days ago is no set being copied any more: its
// records go. In the primary bucket any such folder is what a stopped
// cleanup left: its records go.
func TestCleanupAtACopyKeepsSetsBeingCopied(t *testing.T) {
	w, ch, ids := twoFullSets(t)
	ctx := context.Background()
	key := w.layout.ResultKey("shop", "20990101T000000000Z", 1)
	rec, _ := json.Marshal(setmodel.ShardResult{Version: setmodel.SetVersion, Set: "20990101T000000000Z", Database: "shop",
		Shard: 1, State: setmodel.ShardSucceeded, Backup: ids[0] + "-1", Kind: setmodel.KindFull})
	if _, err := w.store.Put(ctx, key, rec, coord.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	stuck := w.layout.ResultKey("shop", "20260420T000000000Z", 2) // made 11 days before the clock: never whole
	if _, err := w.store.Put(ctx, stuck, rec, coord.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	reqs := cluster.Requests{Coord: w.nodes[0].c, Chains: ch, Policy: setmodel.SetPolicy{KeepFullSets: 1}, AtCopy: true}
	out, err := reqs.CleanupSets(ctx, "shop", false)
	if err != nil || !slices.Equal(out.DeletedSets, ids[:1]) {
		t.Fatalf("cleanup at the copy: %+v, %v; want the older full set deleted", out, err)
	}
	if ok, _ := w.store.Exists(ctx, key); !ok {
		t.Error("a cleanup at a copy target deleted the result of a set being copied")
	}
	if ok, _ := w.store.Exists(ctx, stuck); ok {
		t.Error("a set folder days old, never whole at the copy, was kept as one being copied")
	}
	if slices.Contains(ch.deleted[1], ids[0]+"-1") || !slices.Equal(ch.deleted[2], []string{ids[0] + "-2"}) {
		t.Errorf("deleted %v; want shard 1's backup the set being copied rests on kept, shard 2's of the older set gone", ch.deleted)
	}
	reqs.AtCopy = false
	if _, err := reqs.CleanupSets(ctx, "shop", false); err != nil {
		t.Fatal(err)
	}
	if ok, _ := w.store.Exists(ctx, key); ok {
		t.Error("in the primary bucket, a set folder without set.json was left")
	}
}
