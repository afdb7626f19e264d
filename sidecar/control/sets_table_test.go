package control_test

import (
	"context"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/control"
)

// TestSetsTableMirrorsTheBucket: on a cluster node the sets table lists
// the sets of the bucket by the time a set's backup is answered; a set
// sealed since is read again and a set gone reads deleted, while a sealed
// set's row is not read again, but after this node's cleanup.
func TestSetsTableMirrorsTheBucket(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	sets := &fakeSets{out: control.SetOutcome{ID: "s2", State: "completed"}, bucket: map[string]control.SetSummary{
		"s1": {ID: "s1", Database: "shop", State: "completed", Kind: "full", Shards: []int{1, 2}, RequestedBy: "bob", CreatedAt: at, SealedAt: &at},
		"s2": {ID: "s2", Database: "shop", State: "open", Kind: "incremental", Shards: []int{1, 2}, RequestedBy: "alice", CreatedAt: at.Add(time.Hour)},
	}}
	b := newBed(t, control.Options{Sets: sets, Databases: []string{"shop"}})
	id := b.request("alice", control.Request{Action: "backup", Database: "shop"})
	b.expect(id, control.StateSucceeded, "set s2 completed")
	states := func() map[string]string {
		t.Helper()
		rows, err := b.plane.SetRows(context.Background(), "shop")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, r := range rows {
			out[r.ID] = string(r.State)
		}
		return out
	}
	if got := states(); got["s1"] != "completed" || got["s2"] != "open" || len(got) != 2 {
		t.Fatalf("sets table %v, want s1 completed and s2 open", got)
	}
	sets.mu.Lock()
	delete(sets.bucket, "s1")
	s2 := sets.bucket["s2"]
	s2.State, s2.SealedAt = "completed", &at
	sets.bucket["s2"] = s2
	sets.out = control.SetOutcome{ID: "s3", State: "completed"}
	sets.reads = 0
	sets.mu.Unlock()
	id = b.request("alice", control.Request{Action: "backup", Database: "shop"})
	b.expect(id, control.StateSucceeded, "set s3 completed")
	if got := states(); got["s1"] != "deleted" || got["s2"] != "completed" {
		t.Errorf("sets table %v, want s1 deleted and s2 completed", got)
	}
	sets.mu.Lock()
	reads := sets.reads
	sets.reads = 0
	sets.mu.Unlock()
	id = b.request("alice", control.Request{Action: "backup", Database: "shop"})
	b.expect(id, control.StateSucceeded, "set s3 completed")
	sets.mu.Lock()
	if reads == 0 || sets.reads != 0 {
		t.Errorf("set.json read %d times while s2 was open, %d once every set was sealed; want some, then none", reads, sets.reads)
	}
	s2.State = "deleting" // marked by this node's cleanup: the sealed row is read again
	sets.bucket["s2"] = s2
	sets.mu.Unlock()
	id = b.request("clickvault", control.Request{Action: "cleanup", Database: "shop"})
	b.expect(id, control.StateSucceeded, "deleted 1 sets")
	if got := states(); got["s2"] != "deleting" {
		t.Errorf("after this node's cleanup marked s2 deleting, the sets table says %v", got)
	}
}
