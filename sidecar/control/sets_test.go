package control_test

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// fakeSets answers every set with out, every restore with restore (or
// restoreErr), remembering what it was asked.
type fakeSets struct {
	mu         sync.Mutex
	got        []control.SetRequest
	out        control.SetOutcome
	restores   []control.SetRestoreRequest
	restore    control.SetRestoreOutcome
	restoreErr error
	cleanups   []string
	bucket     map[string]control.SetSummary // the sets in the bucket, by id
	reads      int                           // ReadSet calls
}

func (f *fakeSets) SetIDs(context.Context, string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.bucket)), nil
}

func (f *fakeSets) ReadSet(_ context.Context, _, id string) (control.SetSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	s, ok := f.bucket[id]
	if !ok {
		return s, coord.ErrNotFound
	}
	return s, nil
}

func (f *fakeSets) RestoreSet(_ context.Context, req control.SetRestoreRequest, progress func(set, message string)) (control.SetRestoreOutcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restores = append(f.restores, req)
	if f.restoreErr != nil {
		return control.SetRestoreOutcome{}, f.restoreErr
	}
	progress(f.restore.Set, "restore of set "+f.restore.Set)
	return f.restore, nil
}

func (f *fakeSets) CleanupSets(_ context.Context, database string, dryRun bool) (control.SetCleanupOutcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, database)
	return control.SetCleanupOutcome{DryRun: dryRun, DeletedSets: []string{"s0"}, DeletedBackups: map[int][]string{1: {"b0"}}, KeptSets: 2}, nil
}

func (f *fakeSets) restoresAsked() []control.SetRestoreRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]control.SetRestoreRequest(nil), f.restores...)
}

func (f *fakeSets) BackupSet(_ context.Context, req control.SetRequest, progress func(set, message string)) (control.SetOutcome, error) {
	f.mu.Lock()
	f.got = append(f.got, req)
	f.mu.Unlock()
	progress(f.out.ID, "set "+f.out.ID+": full backup of shards [1 2]")
	return f.out, nil
}

func (f *fakeSets) asked() []control.SetRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]control.SetRequest(nil), f.got...)
}

// TestClusterBackupIsASet: on a cluster node a backup request is a set of
// the cluster, asked for as its requester, and answered as the set ended:
// succeeded when completed, failed when partial, naming each shard.
func TestClusterBackupIsASet(t *testing.T) {
	sets := &fakeSets{out: control.SetOutcome{ID: "s1", State: "completed", Shards: []control.ShardOutcome{
		{Shard: 1, State: "succeeded", Node: "n1", Backup: "b1", Kind: "full"},
		{Shard: 2, State: "succeeded", Node: "n2", Backup: "b2", Kind: "full"}}}}
	b := newBed(t, control.Options{Sets: sets, Databases: []string{"shop"}})
	id := b.request("alice", control.Request{Action: "backup", Database: "shop"})
	b.expect(id, control.StateSucceeded, "set s1 completed: shard 1 succeeded: full backup b1 by n1; shard 2 succeeded")
	got := sets.asked()
	if len(got) != 1 || got[0].RequestedBy != "alice" || got[0].Database != "shop" || got[0].RequestID != id {
		t.Fatalf("asked for %+v, want one set of shop for alice's request %s", got, id)
	}
	if l, err := b.store.List(context.Background(), "p/shop/", true); err != nil || len(l.Objects) != 0 {
		t.Errorf("the node backed itself up alone (%v, %v), want only the set", l.Objects, err)
	}
	sets.mu.Lock()
	sets.out = control.SetOutcome{ID: "s2", State: "partial", Shards: []control.ShardOutcome{
		{Shard: 1, State: "succeeded", Node: "n1", Backup: "b3", Kind: "incremental"},
		{Shard: 2, State: "rejected", Reason: "rejected: alice may not BACKUP shop on this node"}}}
	sets.mu.Unlock()
	id = b.request("alice", control.Request{Action: "backup", Database: "shop"})
	b.expect(id, control.StateFailed, "set s2 partial: shard 1 succeeded: incremental backup b3 by n1; shard 2 rejected: rejected: alice may not")
}

// TestClusterNodeRefusesWhatSetsDoNotDo: a backup of some tables, a
// request on a database the nodes do not list, a restore of some tables,
// of mode schema, with consumers 'include', a verify from a copy target, and a
// login's cleanup that deletes (its grants are this node's alone) are
// rejected on a cluster node, each saying why, and no set is made,
// restored or cleaned up.
func TestClusterNodeRefusesWhatSetsDoNotDo(t *testing.T) {
	sets := &fakeSets{out: control.SetOutcome{ID: "s1", State: "completed"}}
	b := newBed(t, control.Options{Sets: sets, Databases: []string{"shop"}})
	for _, c := range []struct {
		r    control.Request
		says string
	}{
		{control.Request{Action: "backup", Database: "shop", Tables: []string{"orders"}}, "a set of whole databases"},
		{control.Request{Action: "backup", Database: "shop_copy"}, "not listed in databases on this cluster node"},
		{control.Request{Action: "restore", Database: "shop_copy"}, "not listed in databases on this cluster node"},
		{control.Request{Action: "restore", Database: "shop", Target: "shop_copy", Tables: []string{"orders"}}, "every shard's whole database"},
		{control.Request{Action: "restore", Database: "shop", Target: "shop_copy", Mode: "schema"}, "is mode data"},
		{control.Request{Action: "restore", Database: "shop", Target: "shop_copy", Consumers: "include"}, "not 'include'"},
		{control.Request{Action: "cleanup", Database: "shop_copy"}, "not listed in databases on this cluster node"},
		{control.Request{Action: "cleanup", Database: "shop", RequestedBy: "erin"}, "can check DROP TABLE on shop on its own server only"},
		{control.Request{Action: "verify", Database: "shop", Source: "dr"}, "only a set's restore may name a [[copy]] target"},
	} {
		by := cmp.Or(c.r.RequestedBy, "alice")
		id := b.request(by, c.r)
		b.expect(id, control.StateRejected, c.says)
	}
	if got, restores := sets.asked(), sets.restoresAsked(); len(got) != 0 || len(restores) != 0 {
		t.Errorf("sets asked for: %+v, restores: %+v", got, restores)
	}
	sets.mu.Lock()
	defer sets.mu.Unlock()
	if len(sets.cleanups) != 0 {
		t.Errorf("cleanups run: %v", sets.cleanups)
	}
}

// TestClusterRestoreIsASetsRestore: on a cluster node a restore request is
// a set's restore, asked as its requester with its set, as_of, target,
// consumers and source (a copy target), and answered step by step: succeeded when every step is done,
// failed otherwise, rejected when the set's restore refused it. A target
// that holds tables is not refused here (each node judges its own, and a
// restore run again finds what the first run restored).
func TestClusterRestoreIsASetsRestore(t *testing.T) {
	sets := &fakeSets{restore: control.SetRestoreOutcome{Set: "20260501T120000000Z", Target: "shop", State: "restored", Ran: 2, Steps: []control.StepOutcome{
		{Key: "t1-r1-s1-data", State: "done", Node: "n1", Rows: 10}, {Key: "t2-r1-s2-data", State: "done", Node: "n2", Rows: 20}}}}
	b := newBed(t, control.Options{Sets: sets, Databases: []string{"shop"}})
	id := b.request("bob", control.Request{Action: "restore", Database: "shop", Backup: "20260501T120000000Z", Consumers: "skip", Source: "dr"})
	b.expect(id, control.StateSucceeded, "set 20260501T120000000Z into shop restored: t1-r1-s1-data (10 rows, n1); t2-r1-s2-data (20 rows, n2)")
	got := sets.restoresAsked()
	if len(got) != 1 || got[0].RequestedBy != "bob" || got[0].Set != "20260501T120000000Z" || got[0].Target != "shop" ||
		got[0].Consumers != "skip" || got[0].RequestID != id || got[0].SourceCopy != "dr" {
		t.Fatalf("asked for %+v, want set s1 of shop into shop for bob's request %s", got, id)
	}
	sets.mu.Lock()
	sets.restore = control.SetRestoreOutcome{Set: "20260501T120000000Z", Target: "shop", State: "failed", Ran: 2, Steps: []control.StepOutcome{
		{Key: "t1-r1-s1-data", State: "done", Node: "n1", Rows: 10}, {Key: "t2-r1-s2-data", State: "rejected", Problem: "bob may not"}}}
	sets.mu.Unlock()
	id = b.request("bob", control.Request{Action: "restore", Database: "shop", Backup: "20260501T120000000Z"})
	b.expect(id, control.StateFailed, "set 20260501T120000000Z into shop failed: t2-r1-s2-data rejected: bob may not; done: t1-r1-s1-data")
	sets.mu.Lock()
	sets.restoreErr = fmt.Errorf("%w: no completed set at or before 2026-01-01T00:00:00Z", control.ErrRejected)
	sets.mu.Unlock()
	id = b.request("alice", control.Request{Action: "restore", Database: "shop", Target: "shop_copy"})
	b.expect(id, control.StateRejected, "no completed set at or before")
	id = b.request("alice", control.Request{Action: "cleanup", Database: "shop", DryRun: true})
	b.expect(id, control.StateSucceeded, "would delete 1 sets (s0) and 1 backups (shard 1: b0); kept 2 sets")
}
