package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// shardState is what a shard's node holds of shop: each table's count and
// sum(cityHash64(*)), and the Distributed table's count over every shard.
type shardState struct {
	orders, events string
	distributed    uint64
}

// shopState reads a node's shop as its administrator.
func (h *harness) shopState() shardState {
	h.t.Helper()
	sum := func(table string) string {
		return fmt.Sprintf("%d/%d", h.countOn("SELECT count() AS n FROM shop."+table),
			h.countOn("SELECT sum(cityHash64(*)) AS n FROM shop."+table))
	}
	return shardState{orders: sum("orders"), events: sum("events"),
		distributed: h.countOn("SELECT count() AS n FROM shop.all_orders")}
}

// restoreBed is a cluster bed whose shop also has events (a String column,
// so the hash sees more than ids), alice may restore shop into shop, and
// a set of it was taken by alice's request; before is each node's shop
// as the set has it. Of o.nodeOpts, only each node's row policies are
// taken.
func restoreBed(t *testing.T, o clusterBedOptions) (*clusterBed, string, []shardState) {
	t.Helper()
	shape := o.nodeOpts
	o.nodeOpts = func(node int) testbed.Options {
		opts := sidecarUsersWith(map[string][]string{"alice": {"CREATE DATABASE, CREATE TABLE, INSERT ON shop.*"}})
		if shape != nil {
			opts.RowPolicies = shape(node).RowPolicies
		}
		return opts
	}
	b := newClusterBed(t, o)
	for i, h := range b.nodes {
		h.exec("CREATE TABLE shop.events (id UInt64, what String) ENGINE = MergeTree ORDER BY id")
		h.exec(fmt.Sprintf("INSERT INTO shop.events SELECT number, concat('node %d event ', toString(number)) FROM numbers(%d)", i+1, 500*(i+1)))
	}
	first := b.nodes[0]
	id := first.request(first.as("alice"), "action, database", "'backup', 'shop'")
	st := first.waitState(id, 3*time.Minute, "succeeded", "failed", "rejected")
	if st.state != "succeeded" {
		t.Fatalf("alice's backup of the cluster: %s: %s", st.state, st.message)
	}
	var before []shardState
	for _, h := range b.nodes {
		before = append(before, h.shopState())
	}
	return b, strings.Fields(st.message)[1], before
}

// loseShop changes every shard after the set (rows added, deleted, a table
// dropped) and then loses the database on every node, as a disaster would.
func (b *clusterBed) loseShop() {
	for i, h := range b.nodes {
		switch i % 3 {
		case 0:
			h.exec("INSERT INTO shop.orders SELECT 900000000 + number FROM numbers(777)")
		case 1:
			h.exec("ALTER TABLE shop.events DELETE WHERE id % 2 = 0 SETTINGS mutations_sync = 1")
		case 2:
			h.exec("DROP TABLE shop.events SYNC")
		}
		h.exec("DROP DATABASE shop SYNC")
	}
}

// expectShop fails unless every node's shop is as before.
func (b *clusterBed) expectShop(t *testing.T, before []shardState, when string) {
	t.Helper()
	for i, h := range b.nodes {
		if got := h.shopState(); got != before[i] {
			t.Errorf("%s: node %d holds %+v, the set %+v", when, i+1, got, before[i])
		}
	}
}

// TestClusterRestoreSet: alice's set of three shards; every shard changes
// and then loses shop. Her restore request on node 2 restores every shard
// from that one set, each node its own shard: every shard's count and
// sum(cityHash64(*)) are the set's again, and the Distributed table counts
// what it counted. The same restore again, as a request and from the CLI
// of node 3, adds nothing. A restore as of before every set is rejected;
// one into another database restores there: a Distributed table over it
// counts the set's rows.
func TestClusterRestoreSet(t *testing.T) {
	b, set, before := restoreBed(t, clusterBedOptions{})
	b.loseShop()
	second := b.nodes[1]
	id := second.request(second.as("alice"), "action, database", "'restore', 'shop'")
	st := second.waitState(id, 4*time.Minute, "succeeded", "failed", "rejected")
	if st.state != "succeeded" || !strings.Contains(st.message, "set "+set+" into shop restored") {
		t.Fatalf("alice's restore of the cluster: %s: %s", st.state, st.message)
	}
	for shard := 1; shard <= 3; shard++ {
		if !strings.Contains(st.message, fmt.Sprintf("t%d-r1-s%d-data (%d rows", shard, shard, 1500*shard)) {
			t.Errorf("the answer does not name shard %d's step: %s", shard, st.message)
		}
	}
	b.expectShop(t, before, "restored")
	second.waitEvent(t, "restore_completed", id)
	again := second.request(second.as("alice"), "action, database, backup", fmt.Sprintf("'restore', 'shop', '%s'", set))
	if st := second.waitState(again, 2*time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" ||
		!strings.Contains(st.message, "nothing added") {
		t.Errorf("the same restore again: %s: %s", st.state, st.message)
	}
	cli := b.nodes[2].run(b.procs[2].config, "restore", "--backup", set)
	if cli.code != 0 || !strings.Contains(cli.stdout, "nothing added") {
		t.Errorf("the CLI's restore again on node 3: exit %d\n%s\n%s", cli.code, cli.stdout, cli.stderr)
	}
	b.expectShop(t, before, "restored again")
	early := second.request(second.as("alice"), "action, database, as_of", "'restore', 'shop', '2020-01-01 00:00:00'")
	if st := second.waitState(early, 2*time.Minute, "succeeded", "failed", "rejected"); st.state != "rejected" ||
		!strings.Contains(st.message, "no completed set at or before 2020-01-01") {
		t.Errorf("a restore as of before every set: %s: %s", st.state, st.message)
	}
	// Under another name, shop.all_orders would be restored still reading
	// and writing production's shop.orders on every shard (RESTORE … AS
	// does not rename a Distributed table's database argument): refused,
	// naming it, unless consumers = 'skip' leaves it out. Then every shard
	// holds the set's rows, and a Distributed table over that database
	// counts them.
	refused := second.request(second.as("alice"), "action, database, target", "'restore', 'shop', 'shop_restored'")
	if st := second.waitState(refused, 3*time.Minute, "succeeded", "failed", "rejected"); st.state != "rejected" ||
		!strings.Contains(st.message, "all_orders") || !strings.Contains(st.message, "a Distributed table over shop.orders") {
		t.Fatalf("a restore into shop_restored keeping a Distributed table over production: %s: %s", st.state, st.message)
	}
	other := second.request(second.as("alice"), "action, database, target, consumers", "'restore', 'shop', 'shop_restored', 'skip'")
	if st := second.waitState(other, 3*time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" {
		t.Fatalf("a restore into shop_restored: %s: %s", st.state, st.message)
	}
	if n := second.countOn("SELECT count() AS n FROM system.tables WHERE database = 'shop_restored' AND name = 'all_orders'"); n != 0 {
		t.Errorf("shop_restored.all_orders was restored with consumers = 'skip'")
	}
	for _, h := range b.nodes {
		h.exec("CREATE TABLE default.restored_on_vault AS shop.orders ENGINE = Distributed(vault, shop_restored, orders)")
	}
	for i, h := range b.nodes {
		got := fmt.Sprintf("%d/%d", h.countOn("SELECT count() AS n FROM shop_restored.orders"),
			h.countOn("SELECT sum(cityHash64(*)) AS n FROM shop_restored.orders"))
		if all := h.countOn("SELECT count() AS n FROM default.restored_on_vault"); got != before[i].orders || all != before[i].distributed {
			t.Errorf("node %d's shop_restored holds %s orders (the set %s), %d over the cluster (the set %d)",
				i+1, got, before[i].orders, all, before[i].distributed)
		}
	}
}

// TestClusterRestoreNodeKilled: node 2's sidecar is killed (SIGKILL) as it
// sends its RESTORE, node 3's just before it sends its own. Restarted,
// each goes on from the restore's record: node 2 waits for the RESTORE its
// server still runs, node 3 sends its step (its rows untouched). Alice's
// request succeeds and every shard holds exactly the set's rows, none
// twice.
func TestClusterRestoreNodeKilled(t *testing.T) {
	points := map[int]string{2: "set-restore-sent", 3: "set-restore-started"}
	b, set, before := restoreBed(t, clusterBedOptions{env: func(node int) []string {
		if p := points[node]; p != "" {
			return []string{envFaultPoint + "=" + p}
		}
		return nil
	}})
	b.loseShop()
	first := b.nodes[0]
	id := first.request(first.as("alice"), "action, database, backup", fmt.Sprintf("'restore', 'shop', '%s'", set))
	for node := 2; node <= 3; node++ {
		select {
		case <-b.procs[node-1].exited:
		case <-time.After(3 * time.Minute):
			t.Fatalf("node %d's sidecar was not killed at %s", node, points[node])
		}
		b.procs[node-1] = b.nodes[node-1].startSidecar(b.procs[node-1].config, b.procs[node-1].addr)
	}
	st := first.waitState(id, 4*time.Minute, "succeeded", "failed", "rejected")
	if st.state != "succeeded" {
		t.Fatalf("alice's restore with two sidecars killed: %s: %s", st.state, st.message)
	}
	b.expectShop(t, before, "restored after the kills")
}

// waitEvent waits for the notification name of request id at h's hook
// (notifications leave from a queue, after the answer).
func (h *harness) waitEvent(t *testing.T, name, id string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, e := range h.hook.received(name) {
			if e.RequestID == id {
				return
			}
		}
	}
	t.Errorf("no %s event for request %s", name, id)
}

// TestClusterRowPoliciesArePerNode: a row policy restricting alice on
// node 2 alone (the node that takes her request has none) refuses node
// 2's step of her set's restore: it would copy every row of shard 2 where
// she may read them. The request fails, naming the policy and the step.
func TestClusterRowPoliciesArePerNode(t *testing.T) {
	b, set, _ := restoreBed(t, clusterBedOptions{nodeOpts: func(node int) testbed.Options {
		if node != 2 {
			return testbed.Options{}
		}
		return testbed.Options{RowPolicies: map[string]map[string]string{"alice": {"shop.orders": "id < 0"}}}
	}})
	b.loseShop()
	first := b.nodes[0]
	st := first.waitState(first.request(first.as("alice"), "action, database, backup", "'restore', 'shop', '"+set+"'"), 4*time.Minute,
		"succeeded", "failed", "rejected")
	if st.state != "failed" || !strings.Contains(st.message, "t2-r1-s2-data rejected") || !strings.Contains(st.message, "restricted by row policy") {
		t.Fatalf("alice's restore with a row policy on node 2: %s: %s", st.state, st.message)
	}
	if n := b.nodes[1].countOn("SELECT count() AS n FROM system.tables WHERE database = 'shop' AND name = 'orders'"); n != 0 {
		t.Errorf("node 2 restored shop.orders for alice despite her row policy there")
	}
}
