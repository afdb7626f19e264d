package cluster_test

import (
	"testing"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
)

// TestRequestKilledBeforeItsRecordMakesNoSecondSet: Requests.find creates
// the set (open.json entry, then set.json) and only then writes
// set-requests/{request}.json; the runner's running row names the set
// only after find returns. A sidecar killed between set.json and the
// record, restarted after the set was sealed (and so gone from
// open.json), finds neither a record nor an open entry of its request:
// it must still answer from that set (docs/cluster.md: "one set per
// request"), not make and back up a second one.
func TestRequestKilledBeforeItsRecordMakesNoSecondSet(t *testing.T) {
	w := newWorld(t, 1, 1)
	// The first run: Coordinator.Create as Requests.find calls it, then
	// the process dies before Requests.record.
	first := w.create(t, 0, cluster.Request{RequestID: "r1", RequestedBy: "alice"})
	for range 5 {
		w.step(t, 0, 1)
	}
	if s, _ := w.set(t, first.ID); s.State != setmodel.SetCompleted {
		t.Fatalf("set %s is %s, want completed before the restart", first.ID, s.State)
	}
	// The restarted sidecar resumes the same request (no set named: the
	// running row never named one).
	again, _ := w.backupSet(t, control.SetRequest{Database: "shop", Kind: "auto", RequestID: "r1", RequestedBy: "alice"})
	if again.ID != first.ID {
		t.Errorf("request r1 made set %s and then, resumed, a second set %s: one request, two sets of backups", first.ID, again.ID)
	}
	if n := len(w.nodes[0].exec.jobs()); n != 1 {
		t.Errorf("node 1 backed its shard up %d times for one request, want once", n)
	}
}

func setRequest(id, kind string) control.SetRequest {
	return control.SetRequest{Database: "shop", Kind: kind, RequestID: id}
}
