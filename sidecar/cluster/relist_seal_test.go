package cluster_test

import (
	"context"
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

// TestAnUnreadableOpenIndexStillEndsTheRequest: open.json replaced by one
// this sidecar cannot read (a newer sidecar's version, a truncated
// object): no node steps the set and it cannot be listed again, so the
// waiting request seals it itself past its deadline: partial, each shard
// with why, and answered.
func TestAnUnreadableOpenIndexStillEndsTheRequest(t *testing.T) {
	w := newWorld(t, 1, 1)
	set, done := w.waitingRequest()
	ctx := context.Background()
	if _, err := w.store.Put(ctx, w.layout.OpenSetsKey("shop"), []byte(`{"version":2,"sets":[]}`), coord.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	end := time.After(3 * time.Second)
	for {
		select {
		case a := <-done:
			if a.err != nil || a.out.ID != set || a.out.State != setmodel.SetPartial || len(a.out.Shards) != 2 ||
				a.out.Shards[0].Reason == "" {
				t.Fatalf("the request was answered %+v (%v), want set %s partial, each shard with why", a.out, a.err, set)
			}
			return
		case <-end:
			s, _ := w.set(t, set)
			t.Fatalf("request still waiting after the clock passed its deadline by %s; set.json state %s",
				w.clock.Now().Sub(s.Deadline), s.State)
		case <-time.After(time.Millisecond):
			for i := range w.nodes {
				_ = w.nodes[i].c.Step(ctx, "shop")
			}
			w.clock.Add(time.Minute)
		}
	}
}

// TestCleanupSealsASetNoNodeSteps: open.json deleted and no request
// waiting for the set (its requester's sidecar gone for good): no node
// learns of the set again, and retention, which keeps open sets with
// every backup they name, would keep it for ever. A cleanup seals it once
// past its deadline.
func TestCleanupSealsASetNoNodeSteps(t *testing.T) {
	w := newWorld(t, 1, 1)
	set := w.create(t, 0, cluster.Request{RequestID: "r1"})
	ctx := context.Background()
	if err := w.store.Delete(ctx, []string{w.layout.OpenSetsKey("shop")}); err != nil {
		t.Fatal(err)
	}
	for range 200 {
		for i := range w.nodes {
			_ = w.nodes[i].c.Step(ctx, "shop")
		}
		w.clock.Add(time.Minute)
	}
	if s, _ := w.set(t, set.ID); s.State != setmodel.SetOpen {
		t.Fatalf("the set is %s before the cleanup: the nodes learnt of it after all, the test proves nothing", s.State)
	}
	reqs := cluster.Requests{Coord: w.nodes[1].c, Chains: &chains{links: map[int][]setmodel.Link{}, deleted: map[int][]string{},
		refuse: map[int]error{}}, Policy: setmodel.SetPolicy{KeepFullSets: 1}}
	dry, err := reqs.CleanupSets(ctx, "shop", true)
	if err != nil || !slices.ContainsFunc(dry.Problems, func(p string) bool { return strings.Contains(p, "the cleanup seals it") }) {
		t.Fatalf("dry run: %+v, %v; want it to say the set would be sealed", dry, err)
	}
	if s, _ := w.set(t, set.ID); s.State != setmodel.SetOpen {
		t.Fatalf("a dry run sealed the set (%s)", s.State)
	}
	out, err := reqs.CleanupSets(ctx, "shop", false)
	if err != nil || !slices.ContainsFunc(out.Problems, func(p string) bool { return strings.Contains(p, "no node sealed it: sealed") }) {
		t.Fatalf("cleanup: %+v, %v; want it to say it sealed the set", out, err)
	}
	s, _ := w.set(t, set.ID)
	if s.State != setmodel.SetPartial {
		t.Fatalf("set %s still %s %s after its deadline; jobs %d", s.ID, s.State, w.clock.Now().Sub(s.Deadline),
			len(w.nodes[0].exec.jobs())+len(w.nodes[1].exec.jobs()))
	}
}

// TestANodeTakesNoSealedSetForOpen: node 2 read a set as open (its backup
// stopped with no result), node 1 sealed it partial at the deadline and
// unlisted it, and then it is listed again (a bucket rolled back). Node 2
// must not back its shard up again for the sealed set, nor note it as the
// newest completed full set (the next auto set would be an incremental
// with no full ever completed).
func TestANodeTakesNoSealedSetForOpen(t *testing.T) {
	w := newWorld(t, 1, 1)
	ctx := context.Background()
	stepCtx, cancel := context.WithCancel(ctx)
	first := true
	w.nodes[1].exec.fn = func(_ context.Context, job cluster.Job) (setmodel.ShardResult, error) {
		if first { // the backup outlives its sidecar's step: no result
			first = false
			cancel()
			return setmodel.ShardResult{}, errors.New("stopped")
		}
		return setmodel.ShardResult{Backup: "late-" + job.Set.ID, Kind: job.Set.Kind}, nil
	}
	set := w.create(t, 0, cluster.Request{RequestID: "r1"})
	rolled, _, _ := w.store.Get(ctx, w.layout.OpenSetsKey("shop"))
	w.step(t, 0)
	_ = w.nodes[1].c.Step(stepCtx, "shop") // caches the set, its backup stops
	w.clock.Add(2 * time.Hour)
	w.step(t, 0) // seals partial at the deadline, unlists
	s, _ := w.set(t, set.ID)
	if s.State != setmodel.SetPartial || len(w.open(t).Sets) != 0 {
		t.Fatalf("setup: %s, open %+v", s.State, w.open(t))
	}
	// The set is listed again: open.json rolled back.
	if _, err := w.store.Put(ctx, w.layout.OpenSetsKey("shop"), rolled, coord.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	_ = w.nodes[1].c.Step(ctx, "shop")
	jobs := w.nodes[1].exec.jobs()
	open := w.open(t)
	if len(jobs) > 1 {
		t.Errorf("node 2 backed up shard 2 again (%d BACKUPs) for set %s sealed %s", len(jobs), set.ID, s.State)
	}
	if open.LastFull != nil {
		next := w.create(t, 0, cluster.Request{RequestID: "r2"})
		t.Errorf("a partial set noted as the newest completed full: next auto set is %s (%s)", next.Kind, next.KindReason)
	}
}

// TestARestoreListedAgainIsWithdrawnWhenItsSetIsBeingDeleted: open.json
// deleted while a set is being restored lets a cleanup, which keeps the
// sets being restored it finds listed there, mark the set deleting. The
// waiting request lists the restore again; it then reads the set again,
// as when it first listed it, and withdraws the restore: no node sends a
// RESTORE of a set whose backups are going, and the request is rejected.
func TestARestoreListedAgainIsWithdrawnWhenItsSetIsBeingDeleted(t *testing.T) {
	w := newRestoreWorld(t, 1, 1)
	ctx := context.Background()
	// a second full set, with other backups
	for _, n := range w.nodes {
		shard := n.c.Self().Position.Shard
		n.exec.fn = func(_ context.Context, job cluster.Job) (setmodel.ShardResult, error) {
			folder := w.layout.Engine(shard).Folder("shop", "full", fmt.Sprintf("b%d", shard+10))
			return setmodel.ShardResult{Backup: fmt.Sprintf("b%d", shard+10), Folder: folder, Kind: "full", Tables: backupRows(folder)}, nil
		}
	}
	w.clock.Add(time.Hour)
	w.backupSet(t, control.SetRequest{Database: "shop", Kind: "full", RequestID: "backup-2"})
	ch := &chains{links: map[int][]setmodel.Link{1: {{Name: "b1"}, {Name: "b11"}}, 2: {{Name: "b2"}, {Name: "b12"}}},
		deleted: map[int][]string{}, refuse: map[int]error{}}
	// the restore of the older set, its nodes not stepped yet
	done := make(chan error, 1)
	go func() {
		_, err := w.requests().RestoreSet(ctx, control.SetRestoreRequest{Database: "shop", Set: w.set.ID, RequestID: "r1"}, func(string, string) {})
		done <- err
	}()
	for len(w.open(t).Restores) == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := w.store.Delete(ctx, []string{w.layout.OpenSetsKey("shop")}); err != nil {
		t.Fatal(err)
	}
	del := &hookChains{chains: ch}
	var reqErr error
	del.before = func() { // the cleanup has marked the set and is about to delete its backups
		w.clock.Add(31 * time.Second) // the waiting request looks whether its restore is listed
		select {
		case reqErr = <-done:
		case <-time.After(5 * time.Second):
			t.Error("the restore request did not end in 5 s after its set was marked deleting")
		}
		for i := range w.nodes {
			if err := w.nodes[i].c.Step(ctx, "shop"); err != nil {
				t.Errorf("%s: step: %v", w.nodes[i].name, err)
			}
		}
	}
	reqs := cluster.Requests{Coord: w.nodes[0].c, Chains: del, Policy: setmodel.SetPolicy{KeepFullSets: 1}}
	out, err := reqs.CleanupSets(ctx, "shop", false)
	if err != nil || !slices.Contains(out.DeletedSets, w.set.ID) {
		t.Fatalf("cleanup: %+v, %v; want set %s deleted", out, err, w.set.ID)
	}
	if !errors.Is(reqErr, control.ErrRejected) || !strings.Contains(fmt.Sprint(reqErr), "being deleted") {
		t.Errorf("the restore request ended with %v, want it rejected: its set is being deleted", reqErr)
	}
	if sent := w.sent(); sent[0]+sent[1] != 0 {
		t.Errorf("RESTOREs sent per node %v of a set marked deleting, want none", sent)
	}
	if restores := w.open(t).Restores; len(restores) != 0 {
		t.Errorf("open.json still lists %+v", restores)
	}
}

type hookChains struct {
	*chains
	before func()
	once   sync.Once
}

func (h *hookChains) Delete(ctx context.Context, db string, shard int, names []string) ([]string, error) {
	h.once.Do(h.before)
	return h.chains.Delete(ctx, db, shard, names)
}

// TestNodesForgetSetsOthersSealed: a node that read a set as open and
// then finds it gone from open.json (another node sealed it) keeps
// nothing of it: a sidecar that never seals would otherwise hold every
// set it ever stepped.
func TestNodesForgetSetsOthersSealed(t *testing.T) {
	w := newWorld(t, 1, 1)
	for i := range 3 {
		w.create(t, 0, cluster.Request{RequestID: fmt.Sprintf("r%d", i)})
		w.step(t, 1) // node 2 reads the set as open and backs its shard up
		if n := cluster.CachedSets(w.nodes[1].c); n != 1 {
			t.Fatalf("node 2 keeps %d sets read as open, want the one it works", n)
		}
		w.step(t, 0) // node 1 backs its shard up, seals the set and unlists it
		w.step(t, 1)
		if n := cluster.CachedSets(w.nodes[1].c); n != 0 {
			t.Fatalf("node 2 keeps %d sets read as open after set %d was sealed and unlisted, want none", n, i)
		}
		w.clock.Add(time.Minute)
	}
}

// TestAnUnreadableOpenIndexStillEndsACompletedSet: every shard wrote its
// result, but open.json became unreadable before the set was sealed. The
// seal, which notes a completed full set in open.json first, waits while
// the set is within its deadline (the note may be written at the next
// step); past it, the waiting request seals the set completed all the
// same, and the request is answered.
func TestAnUnreadableOpenIndexStillEndsACompletedSet(t *testing.T) {
	w := newWorld(t, 1, 1)
	ctx := context.Background()
	spoil := func() {
		if _, err := w.store.Put(ctx, w.layout.OpenSetsKey("shop"), []byte(`{"version":99,"sets":[]}`), coord.PutCondition{}); err != nil {
			t.Error(err)
		}
	}
	w.nodes[1].exec.fn = func(_ context.Context, job cluster.Job) (setmodel.ShardResult, error) {
		spoil() // the last shard's result is written once open.json can no longer be read
		return setmodel.ShardResult{Backup: "b-" + job.Set.ID, Kind: job.Set.Kind}, nil
	}
	id, done := w.waitingRequest()
	w.step(t, 0)
	if err := w.nodes[1].c.Step(ctx, "shop"); err == nil || !strings.Contains(err.Error(), "note full set") {
		t.Fatalf("node 2's step: %v, want its seal to fail to note the full set", err)
	}
	if s, results := w.set(t, id); s.State != setmodel.SetOpen || len(results) != 2 {
		t.Fatalf("after both shards' steps the set is %s with %d results, want open with 2: sealed without its note", s.State, len(results))
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case a := <-done:
			if a.err != nil || a.out.ID != id || !a.out.Completed() {
				t.Fatalf("the request was answered %+v (%v), want set %s completed", a.out, a.err, id)
			}
			return
		case <-deadline:
			t.Fatal("the request was not answered in 10 s")
		case <-time.After(time.Millisecond):
			w.clock.Add(time.Minute)
		}
	}
}

// TestARestoreWhoseRecordIsGoneEnds: the record of a restore being run is
// deleted (its set's folder with it): the waiting request fails, saying
// so, and takes the restore off open.json, where the nodes would
// otherwise fail on the missing record every poll until its deadline.
func TestARestoreWhoseRecordIsGoneEnds(t *testing.T) {
	w := newRestoreWorld(t, 1, 1)
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		_, err := w.requests().RestoreSet(ctx, control.SetRestoreRequest{Database: "shop", RequestID: "r1"}, func(string, string) {})
		done <- err
	}()
	for len(w.open(t).Restores) == 0 {
		time.Sleep(time.Millisecond)
	}
	e := w.open(t).Restores[0]
	if err := w.store.Delete(ctx, []string{w.layout.RestoreKey("shop", e.Set, e.TargetCluster, e.Target, e.Shard)}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "record is gone") {
			t.Fatalf("the restore ended with %v, want it failed: its record is gone", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the restore request did not end in 10 s")
	}
	if restores := w.open(t).Restores; len(restores) != 0 {
		t.Errorf("open.json still lists %+v", restores)
	}
}
