package cluster_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
)

// TestALongStepHoldsUpNoOtherDatabase: a node's shard backup of one
// database runs long (as a restore step of hours would); the set of
// another database made meanwhile has its shard backed up at once, and
// the long one is not started a second time while it runs. Stepped one
// database after the other, the long one held every other set up till
// its deadline.
func TestALongStepHoldsUpNoOtherDatabase(t *testing.T) {
	w := newWorldWith(t, func(_ int, o *cluster.Options) { o.DatabasesAtOnce = 2 }, 1)
	release := make(chan struct{})
	n := w.nodes[0]
	n.exec.fn = func(ctx context.Context, job cluster.Job) (setmodel.ShardResult, error) {
		if job.Set.Database == "slow" {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return setmodel.ShardResult{Backup: "b-" + job.Set.ID, Kind: job.Set.Kind}, nil
	}
	w.create(t, 0, cluster.Request{Database: "slow", RequestID: "r1", RequestedBy: "alice"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); cluster.StepEvery(ctx, n.c, []string{"slow", "shop"}, 5*time.Millisecond) }()
	defer func() { cancel(); close(release); <-done }()
	backedUp := func(db string) int {
		return len(slices.DeleteFunc(n.exec.jobs(), func(j cluster.Job) bool { return j.Set.Database != db }))
	}
	deadline := time.Now().Add(5 * time.Second)
	for backedUp("slow") == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	w.create(t, 0, cluster.Request{Database: "shop", RequestID: "r2", RequestedBy: "alice"})
	for backedUp("shop") == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if backedUp("shop") != 1 || backedUp("slow") != 1 {
		t.Fatalf("shard backups while slow's runs: shop %d, slow %d; want shop's done and slow's once", backedUp("shop"), backedUp("slow"))
	}
}
