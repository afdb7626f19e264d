package cluster_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// TestTwinOfTheSameNameTakesNoPartInSets: a second sidecar with the first
// one's own name (a copied configuration on a host of the same name) but
// another run sees the first renew the node's lease while it watches it,
// says so at ERROR, and backs up nothing while the first works its sets.
func TestTwinOfTheSameNameTakesNoPartInSets(t *testing.T) {
	// Renewed every 2 s, watched 3 s: a renewal held back a second on a
	// loaded machine is still seen.
	w := newWorldWith(t, func(_ int, o *cluster.Options) { o.ClaimTTL = 6 * time.Second }, 1)
	first := w.nodes[0]
	var logs lockedBuffer
	twinExec := &executor{}
	twin := cluster.New(w.store, w.layout, "vault", cluster.Member{
		Holder:   coord.Holder{Name: first.name, Stable: true, Run: "twin-run"},
		Position: setmodel.Position{Shard: 1, Replica: 1}}, twinExec, cluster.Options{ClaimTTL: 6 * time.Second, ShardTimeout: time.Hour},
		slog.New(slog.NewTextHandler(&logs, nil)))
	twin.SetClock(w.clock.Now)

	firstCtx, stopFirst := context.WithCancel(context.Background())
	defer stopFirst()
	firstDone := run(first.c, firstCtx)
	waitUntil(t, "the first sidecar holds the node's lease", func() bool { return nodeLeaseHolder(t, w) == first.name })
	twinCtx, stopTwin := context.WithCancel(context.Background())
	defer stopTwin()
	twinDone := run(twin, twinCtx)
	waitUntil(t, "the twin says two sidecars share one name", func() bool {
		return strings.Contains(logs.String(), "two sidecars share one name")
	})
	w.clock.Add(time.Second)
	set := w.create(t, 0, cluster.Request{RequestID: "r1", RequestedBy: "alice"})
	waitUntil(t, "the first sidecar backs up the set", func() bool {
		jobs := first.exec.jobs()
		return len(jobs) == 1 && jobs[0].Set.ID == set.ID
	})
	if jobs := twinExec.jobs(); len(jobs) != 0 {
		t.Fatalf("the twin backed up %d shards while the first held the node's lease", len(jobs))
	}
	stopTwin()
	<-twinDone
	stopFirst()
	<-firstDone
}

// lockedBuffer is a log's text, written and read from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
