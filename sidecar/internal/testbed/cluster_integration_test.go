package testbed_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestClusterOfThreeShards: three engine processes in one remote_servers
// cluster. Each marks exactly its own shard is_local in system.clusters and
// answers its macros; a Distributed table over each node's MergeTree
// counts every node's rows, shard by shard, also for a login that is not
// the administrator (the interserver secret runs it as that login on every
// node). A second cluster, vault2, of nodes 1 and 2 (as shards 1 and 2)
// is in every node's remote_servers too: nodes 1 and 2 are is_local in it
// on their own shard, node 3 on none, and a Distributed table over it
// counts nodes 1 and 2's rows.
func TestClusterOfThreeShards(t *testing.T) {
	c := testbed.NewCluster(t, testbed.ClusterOptions{Options: testbed.Options{
		Users:  map[string]string{"carol": "carol-pw"},
		Grants: map[string][]string{"carol": {"SELECT ON shop.*"}},
	}, Others: []testbed.OtherCluster{{Name: "vault2", Shards: [][]int{{1}, {2}}}}})
	ctx := testContext(t)
	if len(c.Nodes) != 3 {
		t.Fatalf("%d nodes, want 3", len(c.Nodes))
	}
	for i, n := range c.Nodes {
		admin := dialNode(t, ctx, n, "")
		assertOwnShard(t, ctx, admin, c, n)
		exec(t, ctx, admin, "CREATE DATABASE shop")
		exec(t, ctx, admin, "CREATE TABLE shop.orders_local (id UInt64) ENGINE = MergeTree ORDER BY id")
		exec(t, ctx, admin, fmt.Sprintf("INSERT INTO shop.orders_local SELECT number FROM numbers(%d)", 100*(i+1)))
		exec(t, ctx, admin, "CREATE TABLE shop.orders AS shop.orders_local ENGINE = Distributed(vault, shop, orders_local)")
		exec(t, ctx, admin, "CREATE TABLE shop.orders2 AS shop.orders_local ENGINE = Distributed(vault2, shop, orders_local)")
		want := "" // node 3 is not in vault2
		if i < 2 {
			want = fmt.Sprint(i + 1)
		}
		if got := queryString(t, ctx, admin, "SELECT arrayStringConcat(groupArray(toString(shard_num))) FROM system.clusters "+
			"WHERE cluster = 'vault2' AND is_local"); got != want {
			t.Errorf("%s: is_local in vault2 on shards %q, want %q", n.Name, got, want)
		}
	}
	for _, n := range c.Nodes {
		carol := dialNode(t, ctx, n, "carol")
		if got := queryUInt64(t, ctx, carol, "SELECT count() FROM shop.orders"); got != 600 {
			t.Errorf("%s: the Distributed table counts %d rows, want 100+200+300", n.Name, got)
		}
		if got := queryUInt64(t, ctx, carol, "SELECT count() FROM shop.orders2"); got != 300 {
			t.Errorf("%s: the Distributed table over vault2 counts %d rows, want 100+200", n.Name, got)
		}
		perShard := shardCounts(t, ctx, carol)
		for shard, want := range map[uint32]uint64{1: 100, 2: 200, 3: 300} {
			if perShard[shard] != want {
				t.Errorf("%s: shard %d has %d rows through the Distributed table, want %d", n.Name, shard, perShard[shard], want)
			}
		}
	}
}

// TestClusterShardOnTwoNodes: shard 1 on two nodes (replicas, kept alike by
// the test) and shard 2 on one. system.clusters lists shard 1 twice, each
// node is_local on its own row only, and the Distributed table reads one
// replica of shard 1: its rows count once.
func TestClusterShardOnTwoNodes(t *testing.T) {
	c := testbed.NewCluster(t, testbed.ClusterOptions{Replicas: []int{2, 1}})
	ctx := testContext(t)
	if got := len(c.Shard(1)); got != 2 {
		t.Fatalf("shard 1 is on %d nodes, want 2", got)
	}
	for _, n := range c.Nodes {
		admin := dialNode(t, ctx, n, "")
		assertOwnShard(t, ctx, admin, c, n)
		rows := 70
		if n.Shard == 1 {
			rows = 40 // the same rows on both replicas
		}
		exec(t, ctx, admin, "CREATE DATABASE shop")
		exec(t, ctx, admin, "CREATE TABLE shop.orders_local (id UInt64) ENGINE = MergeTree ORDER BY id")
		exec(t, ctx, admin, fmt.Sprintf("INSERT INTO shop.orders_local SELECT number FROM numbers(%d)", rows))
		exec(t, ctx, admin, "CREATE TABLE shop.orders AS shop.orders_local ENGINE = Distributed(vault, shop, orders_local)")
	}
	admin := dialNode(t, ctx, c.Nodes[2], "")
	if got := queryUInt64(t, ctx, admin, "SELECT count() FROM system.clusters WHERE cluster = 'vault' AND shard_num = 1"); got != 2 {
		t.Errorf("system.clusters lists shard 1 %d times, want 2", got)
	}
	if got := queryUInt64(t, ctx, admin, "SELECT count() FROM shop.orders"); got != 110 {
		t.Errorf("the Distributed table counts %d rows, want 40 (shard 1, once) + 70", got)
	}
}

// assertOwnShard: system.clusters marks exactly one row of the cluster
// is_local, the node's own (its shard, at its port), and getMacro agrees.
func assertOwnShard(t *testing.T, ctx context.Context, conn *ch.Client, c *testbed.Cluster, n *testbed.Node) {
	t.Helper()
	var shard, replica proto.ColUInt32
	var port proto.ColUInt16
	err := conn.Do(ctx, ch.Query{
		Body:       "SELECT shard_num, replica_num, port FROM system.clusters WHERE cluster = {c:String} AND is_local",
		Parameters: []proto.Parameter{param("c", c.Name)},
		Result: proto.Results{{Name: "shard_num", Data: &shard}, {Name: "replica_num", Data: &replica},
			{Name: "port", Data: &port}},
	})
	if err != nil {
		t.Fatalf("%s: read system.clusters: %v", n.Name, err)
	}
	if shard.Rows() != 1 {
		t.Fatalf("%s: %d rows of cluster %s are is_local, want 1", n.Name, shard.Rows(), c.Name)
	}
	if shard.Row(0) != uint32(n.Shard) || replica.Row(0) != uint32(n.Replica) {
		t.Errorf("%s: is_local row is shard %d replica %d, want %d/%d", n.Name, shard.Row(0), replica.Row(0), n.Shard, n.Replica)
	}
	if got := fmt.Sprint(port.Row(0)); ":"+got != n.ClickHouse.Addr[len(n.ClickHouse.Addr)-len(got)-1:] {
		t.Errorf("%s: is_local row's port %s is not the node's address %s", n.Name, got, n.ClickHouse.Addr)
	}
	if got := queryString(t, ctx, conn, "SELECT getMacro('shard')"); got != fmt.Sprint(n.Shard) {
		t.Errorf("%s: getMacro('shard') = %q, want %d", n.Name, got, n.Shard)
	}
}

func shardCounts(t *testing.T, ctx context.Context, conn *ch.Client) map[uint32]uint64 {
	t.Helper()
	var shard proto.ColUInt32
	var rows proto.ColUInt64
	err := conn.Do(ctx, ch.Query{
		Body:   "SELECT _shard_num AS shard, count() AS rows FROM shop.orders GROUP BY shard",
		Result: proto.Results{{Name: "shard", Data: &shard}, {Name: "rows", Data: &rows}},
	})
	if err != nil {
		t.Fatalf("count rows per shard: %v", err)
	}
	out := map[uint32]uint64{}
	for i := 0; i < shard.Rows(); i++ {
		out[shard.Row(i)] = rows.Row(i)
	}
	return out
}

func dialNode(t *testing.T, ctx context.Context, n *testbed.Node, user string) *ch.Client {
	t.Helper()
	conn, err := n.ClickHouse.Dial(ctx, user)
	if err != nil {
		t.Fatalf("%s: %v", n.Name, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
