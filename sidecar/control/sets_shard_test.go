package control_test

import (
	"testing"

	"github.com/clickvault/clickvault/sidecar/control"
)

// TestRestoreOfOneShard: on a cluster node a restore with a shard is the
// restore of that one shard of the set, asked with it and answered naming
// it; a shard on any other action is rejected, and so is a shard on a
// single server, before anything is asked or run.
func TestRestoreOfOneShard(t *testing.T) {
	sets := &fakeSets{restore: control.SetRestoreOutcome{Set: "20260501T120000000Z", Shard: 2, Target: "shop", State: "restored",
		Ran: 1, Steps: []control.StepOutcome{{Key: "t2-r1-s2-data", State: "done", Node: "n2", Rows: 20}}}}
	b := newBed(t, control.Options{Sets: sets, Databases: []string{"shop"}})
	id := b.request("bob", control.Request{Action: "restore", Database: "shop", Shard: 2})
	b.expect(id, control.StateSucceeded, "shard 2 of set 20260501T120000000Z into shop restored: t2-r1-s2-data (20 rows, n2)")
	if got := sets.restoresAsked(); len(got) != 1 || got[0].Shard != 2 || got[0].RequestID != id {
		t.Fatalf("asked for %+v, want shard 2 for bob's request %s", got, id)
	}
	for _, action := range []control.Action{"backup", "verify", "check", "cleanup"} {
		id := b.request("bob", control.Request{Action: action, Database: "shop", Shard: 2})
		b.expect(id, control.StateRejected, "shard is for a restore of one shard of a set, on a cluster node")
	}
	single := newBed(t, control.Options{Databases: []string{"shop"}})
	id = single.request("alice", control.Request{Action: "restore", Database: "shop", Shard: 2})
	single.expect(id, control.StateRejected, "shard is for a restore of one shard of a set, on a cluster node")
	if got := sets.restoresAsked(); len(got) != 1 {
		t.Errorf("restores asked: %+v, want only the first", got)
	}
}
