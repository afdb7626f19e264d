package control_test

import (
	"context"
	"sync"
	"testing"

	"github.com/clickvault/clickvault/sidecar/control"
)

// fakeSets answers every set with out, remembering what it was asked.
type fakeSets struct {
	mu  sync.Mutex
	got []control.SetRequest
	out control.SetOutcome
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

// TestClusterNodeRefusesWhatSetsDoNotDo: a backup of some tables or of a
// database the nodes do not list, a restore and a cleanup are rejected on
// a cluster node, each saying why, and no set is made.
func TestClusterNodeRefusesWhatSetsDoNotDo(t *testing.T) {
	sets := &fakeSets{out: control.SetOutcome{ID: "s1", State: "completed"}}
	b := newBed(t, control.Options{Sets: sets, Databases: []string{"shop"}})
	for _, c := range []struct {
		r    control.Request
		says string
	}{
		{control.Request{Action: "backup", Database: "shop", Tables: []string{"orders"}}, "a set of whole databases"},
		{control.Request{Action: "backup", Database: "shop_copy"}, "not listed in databases on this cluster node"},
		{control.Request{Action: "restore", Database: "shop", Target: "shop_copy"}, "restore is not run on a cluster node yet"},
		{control.Request{Action: "cleanup", Database: "shop"}, "cleanup is not run on a cluster node yet"},
	} {
		id := b.request("alice", c.r)
		b.expect(id, control.StateRejected, c.says)
	}
	if got := sets.asked(); len(got) != 0 {
		t.Errorf("sets asked for: %+v", got)
	}
}
