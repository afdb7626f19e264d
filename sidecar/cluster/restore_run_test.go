package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// TestSetRestoreRestoresEveryShard: a set of three shards restored into
// a cluster of three: each node restores its own shard's backup, the
// request is answered step by step; run again, the record says every step
// is done and nothing is sent.
func TestSetRestoreRestoresEveryShard(t *testing.T) {
	w := newRestoreWorld(t, 1, 1, 1)
	out, err := w.restore(t, control.SetRestoreRequest{RequestID: "r1", RequestedBy: "alice"}, nil)
	if err != nil || !out.Restored() || out.Ran != 3 {
		t.Fatalf("restore: %+v, %v", out, err)
	}
	for i, srv := range w.servers {
		want := uint64(100 * (i + 1))
		if got := srv.rows("shop")["orders"]; got != want || srv.sends() != 1 {
			t.Errorf("node %d holds %d rows after %d RESTOREs, want %d after one", i+1, got, srv.sends(), want)
		}
	}
	if msg := out.Message(); !strings.Contains(msg, "t2-r1-s2-data (200 rows, node2)") {
		t.Errorf("message %q", msg)
	}
	again, err := w.restore(t, control.SetRestoreRequest{RequestID: "r2", RequestedBy: "alice"}, nil)
	if err != nil || !again.Restored() || again.Ran != 0 || !strings.Contains(again.Message(), "nothing added") {
		t.Fatalf("the same restore again: %+v, %v", again, err)
	}
	for i, srv := range w.servers {
		if srv.sends() != 1 {
			t.Errorf("node %d sent %d RESTOREs after the second run, want 1", i+1, srv.sends())
		}
	}
	if open := w.open(t); len(open.Restores) != 0 {
		t.Errorf("open.json still lists %+v", open.Restores)
	}
}

// TestSetRestoreOntoFewerShards: three source shards onto two: shard 3's
// rows go to target shard 1 beside shard 1's (allow_non_empty_tables),
// and the answer says so.
func TestSetRestoreOntoFewerShards(t *testing.T) {
	w := newRestoreWorld(t, 1, 1, 1)
	two := w.topo
	two.Shards = two.Shards[:2]
	req := w.requests()
	req.Topology = func(context.Context) (setmodel.Topology, error) { return two, nil }
	done := make(chan error, 1)
	var out control.SetRestoreOutcome
	go func() {
		var err error
		out, err = req.RestoreSet(context.Background(), control.SetRestoreRequest{Database: "shop", Target: "shop2", RequestID: "r1"},
			func(string, string) {})
		done <- err
	}()
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		case <-time.After(time.Millisecond):
			w.step(t, 0, 1)
		}
	}
	if got := w.servers[0].rows("shop2")["orders"]; got != 400 || !out.Restored() {
		t.Errorf("target shard 1 holds %d rows (%+v), want shard 1's 100 and shard 3's 300", got, out)
	}
	if !strings.Contains(out.Message(), "target shard 1 holds source shards [1 3]") {
		t.Errorf("message %q", out.Message())
	}
}

// TestSetRestoreRefusals: no completed set at or before as_of, a set not
// there, and a target that holds tables on one node (its steps fail, the
// others' run, the answer names it) — the first two rejected before
// anything is written.
func TestSetRestoreRefusals(t *testing.T) {
	w := newRestoreWorld(t, 1, 1)
	_, err := w.restore(t, control.SetRestoreRequest{AsOf: w.set.CreatedAt.Add(-time.Hour), RequestID: "r1"}, nil)
	if !errors.Is(err, control.ErrRejected) || !strings.Contains(err.Error(), "no completed set at or before") {
		t.Errorf("as_of before every set: %v", err)
	}
	_, err = w.restore(t, control.SetRestoreRequest{Set: "20200101T000000000Z", RequestID: "r2"}, nil)
	if !errors.Is(err, control.ErrRejected) || !strings.Contains(err.Error(), "no set named") {
		t.Errorf("a set not there: %v", err)
	}
	if l, _ := w.store.List(context.Background(), w.layout.SetRoot("shop", w.set.ID)+"restores/", true); len(l.Objects) != 0 {
		t.Errorf("refused restores wrote %v", l.Objects)
	}
	w.servers[1].dbs["shop"] = map[string]uint64{"mine": 5}
	out, err := w.restore(t, control.SetRestoreRequest{RequestID: "r3"}, nil)
	if err != nil || out.Restored() || !strings.Contains(out.Message(), "t2-r1-s2-data failed: database shop") ||
		w.servers[0].rows("shop")["orders"] != 100 {
		t.Errorf("a target not empty on node 2: %+v, %v", out, err)
	}
}

// TestSetRestoreRejectedOnANode: the requester may not restore on node 2
// (grants are each node's own): its step is rejected and the restore
// fails; granted since, the same restore run again does node 2's step
// only.
func TestSetRestoreRejectedOnANode(t *testing.T) {
	w := newRestoreWorld(t, 1, 1)
	w.servers[1].denied = "may not restore here"
	out, err := w.restore(t, control.SetRestoreRequest{RequestID: "r1", RequestedBy: "alice"}, nil)
	if err != nil || out.Restored() || !strings.Contains(out.Message(), "t2-r1-s2-data rejected: alice may not restore here") {
		t.Fatalf("restore with no right on node 2: %+v, %v", out, err)
	}
	w.servers[1].denied = ""
	out, err = w.restore(t, control.SetRestoreRequest{RequestID: "r2", RequestedBy: "alice"}, nil)
	if err != nil || !out.Restored() || out.Ran != 1 || w.servers[0].sends() != 1 || w.servers[1].rows("shop")["orders"] != 200 {
		t.Fatalf("run again once granted: %+v, %v; node 1 sent %d", out, err, w.servers[0].sends())
	}
}

// TestSetRestoreResumesAKilledNode: node 2's sidecar is killed as its
// RESTORE is sent (or just before); restarted, it goes on from the
// record: it waits for the RESTORE its server still has, or, when the
// server has none (it restarted too), judges the step by its rows —
// untouched: sent again; all there: done; anything else: a conflict,
// never a second copy of the rows.
func TestSetRestoreResumesAKilledNode(t *testing.T) {
	for _, c := range []struct {
		name, point string
		server      func(srv *fakeServer, id string) // what the server lost with the sidecar
		sends       int
		rows        uint64
		says        string
	}{
		{"the server still runs it", "set-restore-sent", func(*fakeServer, string) {}, 1, 200, ""},
		{"killed before it was sent", "set-restore-started", func(*fakeServer, string) {}, 1, 200, ""},
		{"the server restarted before restoring", "set-restore-sent",
			func(srv *fakeServer, id string) { delete(srv.ops, id); delete(srv.dbs, "shop") }, 2, 200, ""},
		{"the server restarted after restoring", "set-restore-sent", func(srv *fakeServer, id string) { delete(srv.ops, id) }, 1, 200, ""},
		{"the server restarted half way", "set-restore-sent",
			func(srv *fakeServer, id string) { delete(srv.ops, id); srv.dbs["shop"]["orders"] = 50 }, 1, 50,
			"t2-r1-s2-data failed: step t2-r1-s2-data (operation"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newRestoreWorld(t, 1, 1)
			srv := w.servers[1]
			killed, kill := context.WithCancel(context.Background())
			w.faults[1] = func(point string) {
				if point != c.point {
					return
				}
				srv.mu.Lock()
				if len(srv.sent) > 0 {
					c.server(srv, srv.sent[len(srv.sent)-1].ID)
				}
				srv.mu.Unlock()
				kill()
			}
			w.restart(1)
			restarted := false
			out, err := w.restore(t, control.SetRestoreRequest{RequestID: "r1", RequestedBy: "alice"}, func(i int) context.Context {
				if i == 1 && killed.Err() != nil && !restarted {
					w.faults[1], restarted = nil, true
					w.restart(1)
				}
				if i == 1 && !restarted {
					return killed
				}
				return context.Background()
			})
			if err != nil || !restarted {
				t.Fatalf("restore: %v (node 2 restarted: %v)", err, restarted)
			}
			if got := srv.rows("shop")["orders"]; got != c.rows || srv.sends() != c.sends {
				t.Errorf("node 2 holds %d rows after %d RESTOREs, want %d after %d", got, srv.sends(), c.rows, c.sends)
			}
			if c.says == "" && !out.Restored() || c.says != "" && !strings.Contains(out.Message(), c.says) {
				t.Errorf("answer %q, want it to say %q", out.Message(), c.says)
			}
		})
	}
}

// TestSetRestoreOfASetMarkedMeanwhile: a cleanup marks the set deleting
// after the restore chose it and before it was listed (here, while it is
// planned): once listed, the restore reads the set again, takes itself
// off open.json and is refused; no node sends a RESTORE.
func TestSetRestoreOfASetMarkedMeanwhile(t *testing.T) {
	w := newRestoreWorld(t, 1, 1, 1)
	req := w.requests()
	plan := req.Plan
	var once sync.Once
	req.Plan = func(ctx context.Context, from cluster.Source, db string, shard int, backup, target string, c model.Consumers) (model.RestorePlan, error) {
		once.Do(func() {
			sets, err := w.nodes[0].c.Sets(ctx, "shop")
			if err != nil || len(sets) != 1 {
				t.Fatalf("sets %v, %v", sets, err)
			}
			s := sets[0]
			s.State = setmodel.SetDeleting
			data, _ := json.Marshal(s)
			if _, err := w.store.Put(ctx, w.layout.SetKey("shop", s.ID), data, coord.PutCondition{}); err != nil {
				t.Fatal(err)
			}
		})
		return plan(ctx, from, db, shard, backup, target, c)
	}
	_, err := req.RestoreSet(context.Background(), control.SetRestoreRequest{Database: "shop", RequestID: "r1"}, func(string, string) {})
	if !errors.Is(err, control.ErrRejected) || !strings.Contains(err.Error(), "being deleted") {
		t.Fatalf("restore of a set marked deleting meanwhile: %v", err)
	}
	if open := w.open(t); len(open.Restores) != 0 {
		t.Errorf("open.json still lists %+v", open.Restores)
	}
	for i := range w.nodes {
		w.step(t, i)
	}
	for i, srv := range w.servers {
		if srv.sends() != 0 {
			t.Errorf("node %d sent %d RESTOREs", i+1, srv.sends())
		}
	}
}

// TestSetRestoreUnderWayIsNotTakenOverByAnotherRequester: an operator's
// restore runs; bob, who may restore on node 1 but not on node 2, asks
// the same restore while node 1's step is being sent, before node 2's
// step is prepared. He is refused,
// naming the run under way, and the operator's restore ends restored. (He
// took the record over: node 2 checked his grants for the operator's step,
// rejected it, and the operator's restore failed half done.)
func TestSetRestoreUnderWayIsNotTakenOverByAnotherRequester(t *testing.T) {
	w := newRestoreWorld(t, 1, 1)
	w.servers[1].deniedTo = "bob"
	var bob struct {
		out control.SetRestoreOutcome
		err error
	}
	bobDone := make(chan struct{})
	var once sync.Once
	w.faults[0] = func(point string) {
		if point != "set-restore-started" {
			return
		}
		once.Do(func() {
			go func() {
				defer close(bobDone)
				bob.out, bob.err = w.requests().RestoreSet(context.Background(),
					control.SetRestoreRequest{RequestID: "r2", RequestedBy: "bob", Database: "shop"}, func(string, string) {})
			}()
			select { // refused at once; taken over, it waits for node 1's step, held here
			case <-bobDone:
			case <-time.After(2 * time.Second):
			}
		})
	}
	w.restart(0)
	out, err := w.restore(t, control.SetRestoreRequest{RequestID: "r1", RequestedBy: "clickvault", Operator: true}, nil)
	if err != nil || !out.Restored() || w.servers[1].rows("shop")["orders"] != 200 {
		t.Fatalf("the operator's restore: %q, %v; node 2 holds %d rows, want 200", out.Message(), err, w.servers[1].rows("shop")["orders"])
	}
	select {
	case <-bobDone:
		if !errors.Is(bob.err, control.ErrRejected) || !strings.Contains(bob.err.Error(), "is being run by request r1 of the operator") {
			t.Errorf("bob's same restore under way: %q, %v; want it refused, naming the run", bob.out.Message(), bob.err)
		}
	case <-time.After(10 * time.Second):
		t.Error("bob's request got no answer")
	}
}

// TestSetRestoreStepWhoseEndIsNotKnownIsAwaitedAgain: node 2's wait for its
// RESTORE loses ClickHouse twice while the RESTORE runs on. The step stays
// started and is awaited again, and the restore ends restored with one
// RESTORE a node. (Marked failed, a run after it judged the step by its
// rows while the RESTORE still ran, found them untouched and sent another:
// the rows twice.)
func TestSetRestoreStepWhoseEndIsNotKnownIsAwaitedAgain(t *testing.T) {
	w := newRestoreWorld(t, 1, 1)
	w.servers[1].lagging = 2
	out, err := w.restore(t, control.SetRestoreRequest{RequestID: "r1", RequestedBy: "alice"}, nil)
	if err != nil || !out.Restored() {
		t.Fatalf("restore through two lost waits: %q, %v", out.Message(), err)
	}
	if got := w.sent(); got[0] != 1 || got[1] != 1 || w.servers[1].rows("shop")["orders"] != 200 {
		t.Errorf("RESTOREs sent %v, node 2 holds %d rows; want one each and 200", got, w.servers[1].rows("shop")["orders"])
	}
}

// TestSetRestoreUndoneSinceIsRunAgain: a set restored whole, then its
// target dropped on every node; the same restore asked again restores it
// again (its record said every step was done, and the answer was
// "nothing added" over an empty target). Dropped on one node only, the
// others' steps refuse to write into their non-empty target: nothing is
// doubled, and the answer says which.
func TestSetRestoreUndoneSinceIsRunAgain(t *testing.T) {
	w := newRestoreWorld(t, 1, 1)
	if out, err := w.restore(t, control.SetRestoreRequest{RequestID: "r1", RequestedBy: "alice"}, nil); err != nil || !out.Restored() {
		t.Fatalf("restore: %q, %v", out.Message(), err)
	}
	drop := func(i int) {
		w.servers[i].mu.Lock()
		delete(w.servers[i].dbs, "shop")
		w.servers[i].mu.Unlock()
	}
	drop(0)
	drop(1)
	out, err := w.restore(t, control.SetRestoreRequest{RequestID: "r2", RequestedBy: "alice"}, nil)
	if err != nil || !out.Restored() || out.Ran != 2 || w.servers[0].rows("shop")["orders"] != 100 || w.servers[1].rows("shop")["orders"] != 200 {
		t.Fatalf("the restore again after its target was dropped: %q, %v; rows %v, %v", out.Message(), err,
			w.servers[0].rows("shop"), w.servers[1].rows("shop"))
	}
	drop(0)
	out, err = w.restore(t, control.SetRestoreRequest{RequestID: "r3", RequestedBy: "alice"}, nil)
	if err != nil || out.Restored() || !strings.Contains(out.Message(), "a set's restore writes into a new or empty database") ||
		w.servers[1].rows("shop")["orders"] != 200 || w.servers[0].rows("shop")["orders"] != 100 {
		t.Fatalf("dropped on node 1 alone: %q, %v; rows %v, %v", out.Message(), err, w.servers[0].rows("shop"), w.servers[1].rows("shop"))
	}
}

// TestARefusalNamesNoOtherLogin: bob's restore refused while alice's run
// of it has steps left says so without naming alice or her request, which
// request_status and set_catalog keep from him; the operator's run is
// named.
func TestARefusalNamesNoOtherLogin(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	had := setmodel.RestoreRecord{Set: "s1", Target: "shop", Run: "alice-secret-request", RequestedBy: "alice",
		Deadline: now.Add(time.Hour), Steps: []setmodel.StepRecord{{Key: "t1-r1-s1-data", State: setmodel.StepPending}}}
	err := cluster.AnotherRequesters(had, control.SetRestoreRequest{RequestID: "r2", RequestedBy: "bob"}, now)
	if err == nil || strings.Contains(err.Error(), "alice") || !strings.Contains(err.Error(), "another login's request") {
		t.Errorf("bob refused while alice's run goes on: %v; want it refused, naming neither alice nor her request", err)
	}
	if err := cluster.AnotherRequesters(had, control.SetRestoreRequest{RequestID: "r3", RequestedBy: "alice"}, now); err != nil {
		t.Errorf("alice asking again: %v, want her run gone on with", err)
	}
}
