package cluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestSetShardFailedOnOneReplica: shard 1 on two nodes, and node 1's
// BACKUPs fail (its server was given a wrong S3 secret). Node 2's
// sidecar is held off the bucket until node 1 has tried, so node 1 goes
// first: its failure is recorded, not made shard 1's result, and node 2
// then backs shard 1 up. The set completes with shard 1 by node 2, and its
// backup holds the shard's rows. Before, node 1's failure was shard 1's
// result and the set partial, a sound replica standing by.
func TestSetShardFailedOnOneReplica(t *testing.T) {
	c := testbed.NewCluster(t, testbed.ClusterOptions{Replicas: []int{2, 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	sidecars := startSidecarsWith(t, ctx, c, bedOptions{shardTimeout: 5 * time.Minute, serverS3Secret: func(n *testbed.Node) string {
		if n.Name == "node1" {
			return "not-the-secret"
		}
		return c.MinIO.SecretKey
	}})
	shopOnEveryNode(t, ctx, sidecars, func(shard int) int { return 500 * shard })
	sidecars[1].bucket.dead.Store(true)
	set, err := sidecars[0].coord.Create(ctx, cluster.Request{Database: "shop", RequestID: "r1", RequestedBy: "alice", Topology: sidecars[0].topo})
	if err != nil {
		t.Fatal(err)
	}
	failedOn1 := bedLayout.FailedAttemptKey("shop", set.ID, 1, 1)
	for {
		if _, _, err := sidecars[0].bucket.ObjectStore.Get(ctx, failedOn1); err == nil {
			break
		}
		if _, results, err := sidecars[2].coord.Status(ctx, "shop", set.ID); err == nil && results[1].State != "" {
			t.Fatalf("DEFECT: node 1's failure was made shard 1's result (%s on %s: %s); want it left to node 2",
				results[1].State, results[1].Node, results[1].Error)
		}
		if ctx.Err() != nil {
			t.Fatalf("node 1's failed backup of shard 1 was never recorded (%s)", failedOn1)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, results, err := sidecars[2].coord.Status(ctx, "shop", set.ID); err != nil || results[1].State != "" {
		t.Fatalf("after node 1 failed: shard 1's result %+v (%v); want none, left to node 2", results[1], err)
	}
	sidecars[1].bucket.dead.Store(false)
	sealed, results := waitSealed(t, ctx, sidecars[2], set.ID)
	if sealed.State != setmodel.SetCompleted || results[1].Node != "clickvault@node2" {
		t.Fatalf("set %s (%v), shard 1 %s by %s; want completed, shard 1 by node 2", sealed.State, sealed.Reasons,
			results[1].State, results[1].Node)
	}
	want := fingerprint(t, ctx, sidecars[1].admin, "shop.orders")
	if got := restoredFingerprint(t, ctx, sidecars[1].admin, c.MinIO, results[1].Folder, "shard1_check"); got != want {
		t.Errorf("shard 1's backup restores %s, its replicas have %s", got, want)
	}
	if !strings.HasPrefix(results[1].Folder, bedLayout.ShardRoot("shop", 1)) {
		t.Errorf("shard 1's backup %s is not in its folder", results[1].Folder)
	}
}
