package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
)

// backupSet runs a request's BackupSet on node 0 while the nodes step, and
// returns its outcome.
func (w *world) backupSet(t *testing.T, req control.SetRequest) (control.SetOutcome, []string) {
	t.Helper()
	reqs := cluster.Requests{Coord: w.nodes[0].c, Poll: time.Millisecond,
		Topology: func(context.Context) (setmodel.Topology, error) { return w.topo, nil }}
	type answer struct {
		out control.SetOutcome
		err error
	}
	done := make(chan answer, 1)
	var told []string
	progress := make(chan string, 100)
	go func() {
		out, err := reqs.BackupSet(context.Background(), req, func(_, msg string) { progress <- msg })
		done <- answer{out, err}
	}()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case a := <-done:
			close(progress)
			for m := range progress {
				told = append(told, m)
			}
			if a.err != nil {
				t.Fatal(a.err)
			}
			return a.out, told
		case m := <-progress:
			told = append(told, m)
		case <-deadline:
			t.Fatal("the set was not sealed in 10 s")
		case <-time.After(time.Millisecond):
			for i := range w.nodes {
				_ = w.nodes[i].c.Step(context.Background(), "shop")
			}
		}
	}
}

// TestRequestsAnswerFromTheirSet: a request's set is made, worked by each
// shard's node and answered with each shard's backup once sealed; the same
// request asked again (its sidecar restarted before it answered, and the
// set sealed and gone from open.json meanwhile) is answered from that set,
// not with a second set.
func TestRequestsAnswerFromTheirSet(t *testing.T) {
	w := newWorld(t, 1, 1)
	req := control.SetRequest{Database: "shop", Kind: "auto", RequestID: "r1", RequestedBy: "alice"}
	out, told := w.backupSet(t, req)
	if !out.Completed() || len(out.Shards) != 2 || out.Shards[0].Backup != "b-"+out.ID || out.Shards[1].State != "succeeded" {
		t.Fatalf("outcome %+v", out)
	}
	if len(told) < 3 {
		t.Errorf("progress told %q, want the set and each shard", told)
	}
	if open := w.open(t); len(open.Sets) != 0 {
		t.Fatalf("open sets %+v after the seal", open.Sets)
	}
	again, _ := w.backupSet(t, req)
	if again.ID != out.ID || !again.Completed() {
		t.Errorf("the request asked again got set %s (%s), want its own %s", again.ID, again.State, out.ID)
	}
	if n := len(w.nodes[0].exec.jobs()); n != 1 {
		t.Errorf("node 1 backed its shard up %d times, want once", n)
	}
}
