package cluster_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// TestAnUnreadableShardResultStrandsNoSet: a shard result this sidecar
// cannot read (a newer sidecar's version, a hand edit) once stopped every
// seal, failed the waiting request and every cleanup of the database. Now
// the set is sealed partial past its deadline, saying why, the request is
// answered from that seal, and a cleanup plans without the result and
// says so.
func TestAnUnreadableShardResultStrandsNoSet(t *testing.T) {
	w := newWorld(t, 1, 1)
	ctx := context.Background()
	set := w.create(t, 0, cluster.Request{RequestID: "r1"})
	w.step(t, 0) // shard 1 result
	if _, err := w.store.Put(ctx, w.layout.ResultKey("shop", set.ID, 2), []byte(`{"version":99}`), coord.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	w.clock.Add(2 * time.Hour)
	for i := range w.nodes {
		err := w.nodes[i].c.Step(ctx, "shop")
		t.Logf("node%d step: %v", i+1, err)
	}
	reqs := cluster.Requests{Coord: w.nodes[0].c, Chains: &chains{links: map[int][]setmodel.Link{}, deleted: map[int][]string{}},
		Policy:   setmodel.SetPolicy{KeepFullSets: 1},
		Topology: func(context.Context) (setmodel.Topology, error) { return w.topo, nil }, Poll: time.Millisecond}
	for range 3 {
		out, err := reqs.CleanupSets(ctx, "shop", false)
		t.Logf("cleanup: err=%v problems=%q kept=%d", err, out.Problems, out.KeptSets)
		w.clock.Add(24 * time.Hour)
	}
	out, berr := reqs.BackupSet(ctx, control.SetRequest{Database: "shop", RequestID: "r1", ID: set.ID}, func(string, string) {})
	if berr != nil || out.State != setmodel.SetPartial || len(out.Shards) != 2 || !strings.Contains(out.Shards[1].Reason, "cannot be read") {
		t.Fatalf("the request asked again: %+v, %v; want set %s partial, shard 2's result unreadable", out, berr, set.ID)
	}
	cleanup, err := reqs.CleanupSets(ctx, "shop", false)
	if err != nil || !slices.ContainsFunc(cleanup.Problems, func(p string) bool { return strings.Contains(p, "planned without it") }) {
		t.Errorf("cleanup: %+v, %v; want it done, naming the result it cannot read", cleanup, err)
	}
}

// TestACleanupWithAClockAheadSealsNoSetEarly: a cleanup run from a host
// whose clock is 2 minutes ahead, 90 s before a set's deadline by the
// clock of the sidecar that made it, does not seal it: shard 2's result,
// in time, completes it.
func TestACleanupWithAClockAheadSealsNoSetEarly(t *testing.T) {
	cleanupFromAHostAhead(t, 2*time.Minute, time.Hour-90*time.Second, func(s coord.ObjectStore) coord.ObjectStore { return s })
}

// TestACleanupOnAClockFarAheadJudgesOnTheStoresClock: a cleanup run from a
// host whose clock is an hour ahead, past any margin, 30 min before a set's
// deadline, does not seal it: it reads the deadline on the store's clock,
// which the store's answers show to be an hour behind its own.
func TestACleanupOnAClockFarAheadJudgesOnTheStoresClock(t *testing.T) {
	cleanupFromAHostAhead(t, time.Hour, 30*time.Minute, func(s coord.ObjectStore) coord.ObjectStore {
		return clockedStore{ObjectStore: s, offset: -time.Hour}
	})
}

// cleanupFromAHostAhead runs a cleanup from a host whose clock is ahead of
// true time, after a set of two shards has run for after, with shard 1's
// result in (an hour is its deadline), on the store seen returns; then
// shard 2's result comes, and the set must not have been sealed early.
func cleanupFromAHostAhead(t *testing.T, ahead, after time.Duration, seen func(coord.ObjectStore) coord.ObjectStore) {
	t.Helper()
	w := newWorld(t, 1, 1)
	set := w.create(t, 0, cluster.Request{RequestID: "r1"})
	w.step(t, 0)
	w.clock.Add(after) // true time
	skewed := cluster.New(seen(w.store), w.layout, "vault", cluster.Member{Holder: coord.Holder{Name: "cli", Stable: true},
		Position: setmodel.Position{Shard: 1, Replica: 1}}, nil, cluster.Options{}, slog.New(slog.DiscardHandler))
	skewed.SetClock(func() time.Time { return w.clock.Now().Add(ahead) })
	reqs := cluster.Requests{Coord: skewed, Chains: &chains{links: map[int][]setmodel.Link{}, deleted: map[int][]string{}},
		Policy: setmodel.SetPolicy{KeepFullSets: 1}}
	out, err := reqs.CleanupSets(context.Background(), "shop", false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cleanup problems: %q", out.Problems)
	w.step(t, 1) // shard 2's backup, in time by the creator's clock
	if s, results := w.set(t, set.ID); s.State != setmodel.SetOpen && s.State != setmodel.SetCompleted {
		t.Errorf("set sealed %s by a clock %s ahead, %s before its deadline; shard 2's result came later: %+v",
			s.State, ahead, s.Deadline.Sub(w.clock.Now()), results[2].State)
	}
}

// clockedStore is a store whose answers show its clock offset from this
// host's (coord.ClockedStore), as the S3 adapter's do.
type clockedStore struct {
	coord.ObjectStore
	offset time.Duration
}

func (s clockedStore) ClockOffset() (time.Duration, bool) { return s.offset, true }

// TestADryRunCleanupOfAStrandedSetPlansAsTheCleanup: with a stranded set
// (open past its deadline, open.json lost) older than the newest full, a
// dry run names the sets the cleanup then deletes, no more, no fewer.
func TestADryRunCleanupOfAStrandedSetPlansAsTheCleanup(t *testing.T) {
	w := newWorld(t, 1, 1)
	ctx := context.Background()
	ch := &chains{links: map[int][]setmodel.Link{}, deleted: map[int][]string{}}
	ch.recordBackups(w)
	s1, _ := w.backupSet(t, setRequest("b1", "full"))
	w.clock.Add(time.Minute)
	stranded := w.create(t, 0, cluster.Request{RequestID: "b2", Kind: "full"})
	w.step(t, 0) // shard 1 backed up; shard 2 never
	if err := w.store.Delete(ctx, []string{w.layout.OpenSetsKey("shop")}); err != nil {
		t.Fatal(err)
	}
	w.clock.Add(time.Minute)
	s3, _ := w.backupSet(t, setRequest("b3", "full"))
	w.clock.Add(2 * time.Hour)
	dry, real := dryThenReal(t, cluster.Requests{Coord: w.nodes[1].c, Chains: ch, Policy: setmodel.SetPolicy{KeepFullSets: 1}})
	t.Logf("sets %s %s %s; dry deletes sets %v backups %v; real deletes sets %v backups %v",
		s1.ID, stranded.ID, s3.ID, dry.DeletedSets, dry.DeletedBackups, real.DeletedSets, real.DeletedBackups)
	if !slices.Equal(dry.DeletedSets, real.DeletedSets) {
		t.Errorf("dry run said it deletes sets %v, the cleanup deleted %v", dry.DeletedSets, real.DeletedSets)
	}
}

// TestASetACleanupSealsIsKeptByIt: a stranded set a cleanup seals while
// shard 2's BACKUP, started before, still runs (its claim long expired)
// is kept by that cleanup, though older than the newest full: the late
// result lands in a set retention still sees, not in a folder whose
// set.json is gone, and a later cleanup deletes its backups with it.
func TestASetACleanupSealsIsKeptByIt(t *testing.T) {
	w := newWorld(t, 1, 1)
	ctx := context.Background()
	ch := &chains{links: map[int][]setmodel.Link{}, deleted: map[int][]string{}}
	ch.recordBackups(w)
	w.backupSet(t, setRequest("b1", "full"))
	w.clock.Add(time.Minute)
	release := make(chan struct{})
	started := make(chan struct{})
	rec := w.nodes[1].exec.fn
	w.nodes[1].exec.fn = func(ctx context.Context, job cluster.Job) (setmodel.ShardResult, error) {
		if job.Set.RequestID == "b2" {
			close(started)
			<-release
		}
		return rec(ctx, job)
	}
	stranded := w.create(t, 0, cluster.Request{RequestID: "b2", Kind: "full"})
	w.step(t, 0)
	stepDone := make(chan error, 1)
	go func() { stepDone <- w.nodes[1].c.Step(ctx, "shop") }()
	<-started
	if err := w.store.Delete(ctx, []string{w.layout.OpenSetsKey("shop")}); err != nil {
		t.Fatal(err)
	}
	// Past its deadline before the next set is made: open.json, rebuilt
	// then, lists no overdue set, so no node steps it again.
	w.clock.Add(2 * time.Hour)
	w.nodes[1].exec.fn = rec
	s3, _ := w.backupSet(t, setRequest("b3", "full"))
	w.nodes[1].exec.fn = func(ctx context.Context, job cluster.Job) (setmodel.ShardResult, error) {
		<-release
		return rec(ctx, job)
	}
	reqs := cluster.Requests{Coord: w.nodes[0].c, Chains: ch, Policy: setmodel.SetPolicy{KeepFullSets: 1}}
	out, err := reqs.CleanupSets(ctx, "shop", false)
	t.Logf("cleanup: %v deleted %v problems %q (s3 %s)", err, out.DeletedSets, out.Problems, s3.ID)
	_, _, serr := w.nodes[0].c.Status(ctx, "shop", stranded.ID)
	t.Logf("the live requester's next poll: %v", serr)
	close(release)
	t.Logf("node2 step: %v", <-stepDone)
	_, _, gerr := w.store.Get(ctx, w.layout.ResultKey("shop", stranded.ID, 2))
	_, _, sgerr := w.store.Get(ctx, w.layout.SetKey("shop", stranded.ID))
	t.Logf("late result: %v; set.json: %v; shard 2 links now %+v", gerr, sgerr, ch.links[2])
	plan, _ := reqs.RetentionPlan(ctx, "shop")
	t.Logf("next plan: outside %v deleteLinks %v", plan.Outside, plan.DeleteLinks)
	if gerr != nil || sgerr != nil {
		t.Errorf("set %s: its late result %v, its set.json %v; want both there", stranded.ID, gerr, sgerr)
	}
	if got := plan.DeleteLinks[2]; !slices.Contains(got, ch.links[2][len(ch.links[2])-1].Name) {
		t.Errorf("the next cleanup deletes shard 2's backups %v, want the late one among them", got)
	}
}

// TestADryRunCleanupCountsAStrandedSetAsItsSealWill: a stranded full set
// whose every shard has its result is sealed completed by the cleanup,
// and so becomes the newest completed full: with keep_full_sets = 1 the
// older full goes. The dry run plans the same, counting the stranded set
// as its seal will make it, not as the open set it still is.
func TestADryRunCleanupCountsAStrandedSetAsItsSealWill(t *testing.T) {
	w := newWorld(t, 1, 1)
	ctx := context.Background()
	ch := &chains{links: map[int][]setmodel.Link{}, deleted: map[int][]string{}}
	ch.recordBackups(w)
	old, _ := w.backupSet(t, setRequest("b1", "full"))
	w.clock.Add(time.Minute)
	stranded := w.create(t, 0, cluster.Request{RequestID: "b2", Kind: "full"})
	w.step(t, 0) // shard 1 backed up
	if err := w.store.Delete(ctx, []string{w.layout.OpenSetsKey("shop")}); err != nil {
		t.Fatal(err)
	}
	// Shard 2's backup ends once open.json is gone: its result is
	// written, and no node seals the set.
	name := stranded.ID + "-2"
	ch.links[2] = append(ch.links[2], setmodel.Link{Name: name})
	res, err := json.Marshal(setmodel.ShardResult{Version: setmodel.SetVersion, Set: stranded.ID, Database: "shop", Shard: 2,
		Replica: 1, Node: "node3", State: setmodel.ShardSucceeded, Backup: name, Kind: setmodel.KindFull})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.Put(ctx, w.layout.ResultKey("shop", stranded.ID, 2), res, coord.PutCondition{IfNoneMatch: true}); err != nil {
		t.Fatal(err)
	}
	w.clock.Add(2 * time.Hour)
	dry, real := dryThenReal(t, cluster.Requests{Coord: w.nodes[1].c, Chains: ch, Policy: setmodel.SetPolicy{KeepFullSets: 1}})
	if s, _ := w.set(t, stranded.ID); s.State != setmodel.SetCompleted {
		t.Fatalf("the cleanup sealed the stranded set %s, want completed", s.State)
	}
	if !slices.Equal(real.DeletedSets, []string{old.ID}) || !slices.Equal(dry.DeletedSets, real.DeletedSets) {
		t.Errorf("the dry run said it deletes sets %v, the cleanup deleted %v; want the older full %s both times",
			dry.DeletedSets, real.DeletedSets, old.ID)
	}
}

// dryThenReal runs a dry-run cleanup of shop, then the cleanup itself.
func dryThenReal(t *testing.T, reqs cluster.Requests) (dry, real control.SetCleanupOutcome) {
	t.Helper()
	var err error
	if dry, err = reqs.CleanupSets(context.Background(), "shop", true); err != nil {
		t.Fatal(err)
	}
	if real, err = reqs.CleanupSets(context.Background(), "shop", false); err != nil {
		t.Fatal(err)
	}
	return dry, real
}
