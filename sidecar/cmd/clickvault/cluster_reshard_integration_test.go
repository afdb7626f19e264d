package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// reshardBed is a cluster bed whose remote_servers also define vault2
// (node 1 as shard 1, node 2 as shard 2) and where alice may restore into
// shop_two and shop_three.
func reshardBed(t *testing.T) *clusterBed {
	t.Helper()
	return newClusterBed(t, clusterBedOptions{others: []testbed.OtherCluster{{Name: "vault2", Shards: [][]int{{1}, {2}}}},
		nodeOpts: func(int) testbed.Options {
			return sidecarUsersWith(map[string][]string{"alice": {"CREATE DATABASE, CREATE TABLE, INSERT ON shop_two.*",
				"CREATE DATABASE, CREATE TABLE, INSERT ON shop_three.*"}})
		}})
}

// serveAs stops every running sidecar and starts one on each of nodes
// (1-based) as a member of cluster name, under the same cluster.id: the
// same bucket folder, so the sets made as one cluster are the other's.
func (b *clusterBed) serveAs(t *testing.T, name string, nodes ...int) {
	t.Helper()
	for i, p := range b.procs {
		if p != nil {
			if code := p.stop(t); code != 0 {
				t.Fatalf("node %d's sidecar exited %d", i+1, code)
			}
			b.procs[i] = nil
		}
	}
	for _, n := range nodes {
		b.procs[n-1] = b.startNode(n, name)
	}
}

// sums are the count and sum(cityHash64(*)) of table (a Distributed
// table: every shard's rows) as node h's administrator reads them.
func (h *harness) sums(table string) string {
	h.t.Helper()
	return fmt.Sprintf("%d rows, hash sum %d", h.countOn("SELECT count() AS n FROM "+table),
		h.countOn("SELECT sum(cityHash64(*)) AS n FROM "+table))
}

// TestClusterRestoreOntoOtherShards: a set of 3 shards made by the sidecars
// of cluster vault is restored by sidecars serving vault2 (2 shards, the
// same cluster.id) into shop_two: source shards 1 and 3 onto node 1, 2
// onto node 2, and the answer says so; count() and sum(cityHash64(*)) over
// a Distributed table on vault2 equal the source's over vault at the set.
// Asked again, the restore adds nothing and says so. Then the reverse: a
// set of 2 shards made on vault2 is restored on all three nodes as vault
// into shop_three; target shard 3 gets the tables, empty, and the answer says so; the
// sums over vault equal the source's over vault2, and again it adds nothing.
func TestClusterRestoreOntoOtherShards(t *testing.T) {
	b := reshardBed(t)
	first, second := b.nodes[0], b.nodes[1]
	for _, h := range b.nodes { // Distributed tables outside shop, so no backup holds them
		h.exec("CREATE TABLE default.shop_on_vault2 AS shop.orders ENGINE = Distributed(vault2, shop, orders)")
	}
	st := b.ask(first, "action, database", "'backup', 'shop'")
	if st.state != "succeeded" || !strings.Contains(st.message, "shard 3 succeeded") {
		t.Fatalf("the set of 3 shards: %s: %s", st.state, st.message)
	}
	threeSet, atThree := strings.Fields(st.message)[1], first.sums("shop.all_orders")

	b.serveAs(t, "vault2", 1, 2)
	restore := fmt.Sprintf("'restore', 'shop', '%s', 'shop_two', 'skip'", threeSet) // all_orders would read production
	st = b.ask(second, "action, database, backup, target, consumers", restore)
	if st.state != "succeeded" || !strings.Contains(st.message, "target shard 1 holds source shards [1 3]") {
		t.Fatalf("3 → 2: %s: %s", st.state, st.message)
	}
	for _, step := range []string{"t1-r1-s1-data (1000 rows", "t1-r1-s3-data (3000 rows", "t2-r1-s2-data (2000 rows"} {
		if !strings.Contains(st.message, step) {
			t.Errorf("3 → 2: the answer does not name step %s…: %s", step, st.message)
		}
	}
	first.exec("CREATE TABLE default.two_on_vault2 AS shop.orders ENGINE = Distributed(vault2, shop_two, orders)")
	if got := first.sums("default.two_on_vault2"); got != atThree {
		t.Errorf("3 → 2: vault2 holds %s in shop_two, the set of vault %s", got, atThree)
	}
	if n := b.nodes[2].countOn("SELECT count() AS n FROM system.databases WHERE name = 'shop_two'"); n != 0 {
		t.Errorf("3 → 2: node 3, not in vault2, got shop_two")
	}
	again := b.ask(first, "action, database, backup, target, consumers", restore)
	if again.state != "succeeded" || !strings.Contains(again.message, "nothing added") {
		t.Errorf("3 → 2 again: %s: %s", again.state, again.message)
	}
	if got := first.sums("default.two_on_vault2"); got != atThree {
		t.Errorf("3 → 2 again: vault2 holds %s in shop_two, the set of vault %s", got, atThree)
	}
	b.reverse(t)
}

// reverse is TestClusterRestoreOntoOtherShards' 2 → 3: a set made on
// vault2, restored by all three nodes serving vault.
func (b *clusterBed) reverse(t *testing.T) {
	t.Helper()
	first, third := b.nodes[0], b.nodes[2]
	st := b.ask(first, "action, database", "'backup', 'shop'")
	if st.state != "succeeded" || !strings.Contains(st.message, "shard 2 succeeded") || strings.Contains(st.message, "shard 3") {
		t.Fatalf("the set of vault2's 2 shards: %s: %s", st.state, st.message)
	}
	twoSet, atTwo := strings.Fields(st.message)[1], first.sums("default.shop_on_vault2")

	b.serveAs(t, "vault", 1, 2, 3)
	restore := fmt.Sprintf("'restore', 'shop', '%s', 'shop_three', 'skip'", twoSet)
	st = b.ask(third, "action, database, backup, target, consumers", restore)
	if st.state != "succeeded" || !strings.Contains(st.message, "target shard 3 gets no data, only the tables, empty: the set has 2 shards, the target 3") ||
		!strings.Contains(st.message, "t1-r1-s1-data (1000 rows") || !strings.Contains(st.message, "t2-r1-s2-data (2000 rows") ||
		!strings.Contains(st.message, "t3-r1-s1-schema (0 rows") {
		t.Fatalf("2 → 3: %s: %s", st.state, st.message)
	}
	// The idle shard gets every table, empty, so a Distributed table over
	// the whole target reads it. (The restored shop_three.all_orders still
	// reads shop: RESTORE … AS does not rename a Distributed table's
	// database argument.)
	if n := third.countOn("SELECT count() AS n FROM system.tables WHERE database = 'shop_three' AND name = 'orders'"); n != 1 {
		t.Errorf("2 → 3: target shard 3 has %d tables shop_three.orders, want 1, empty", n)
	}
	if n := third.countOn("SELECT count() AS n FROM shop_three.orders"); n != 0 {
		t.Errorf("2 → 3: target shard 3's shop_three.orders holds %d rows, want none", n)
	}
	first.exec("CREATE TABLE default.three_on_vault AS shop.orders ENGINE = Distributed(vault, shop_three, orders)")
	if got := first.sums("default.three_on_vault"); got != atTwo {
		t.Errorf("2 → 3: vault holds %s in shop_three, the set of vault2 %s", got, atTwo)
	}
	again := b.ask(first, "action, database, backup, target, consumers", restore)
	if again.state != "succeeded" || !strings.Contains(again.message, "nothing added") {
		t.Errorf("2 → 3 again: %s: %s", again.state, again.message)
	}
	if got := first.sums("default.three_on_vault"); got != atTwo {
		t.Errorf("2 → 3 again: vault holds %s in shop_three, the set of vault2 %s", got, atTwo)
	}
}

// TestClusterRestoreFromAnotherClusterID: a set made by cluster vault
// (cluster.id vault-eu) is restored onto vault2, whose sidecars serve it
// under an id of their own (vault-staging), by `clickvault restore
// --from-cluster vault-eu` on node 1: source shards 1 and 3 onto node 1,
// 2 onto node 2; count() and sum(cityHash64(*)) over a Distributed table
// on vault2 equal the set's over vault; nothing is written under vault-eu
// (the record is vault-staging's); asked again, it adds nothing.
func TestClusterRestoreFromAnotherClusterID(t *testing.T) {
	b := reshardBed(t)
	first := b.nodes[0]
	st := b.ask(first, "action, database", "'backup', 'shop'")
	if st.state != "succeeded" || !strings.Contains(st.message, "shard 3 succeeded") {
		t.Fatalf("the set of 3 shards: %s: %s", st.state, st.message)
	}
	set, atThree := strings.Fields(st.message)[1], first.sums("shop.all_orders")
	b.o.env = func(int) []string { return []string{"CLICKVAULT_CLUSTER_ID=vault-staging"} }
	b.serveAs(t, "vault2", 1, 2)
	source := keysAt(t, first, "cv/test/vault-eu/")
	restore := []string{"restore", "--from-cluster", "vault-eu", "--backup", set, "--target", "shop_two", "--consumers", "skip"}
	r := first.runWith(b.procs[0].config, b.o.env(1), restore...)
	if r.code != 0 || !strings.Contains(r.stdout, "set "+set+" of cluster vault-eu into shop_two restored") ||
		!strings.Contains(r.stdout, "t1-r1-s3-data (3000 rows") {
		t.Fatalf("restore --from-cluster vault-eu: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	first.exec("CREATE TABLE default.two_on_vault2 AS shop.orders ENGINE = Distributed(vault2, shop_two, orders)")
	if got := first.sums("default.two_on_vault2"); got != atThree {
		t.Errorf("vault2 holds %s in shop_two, the set of vault %s", got, atThree)
	}
	if after := keysAt(t, first, "cv/test/vault-eu/"); !slices.Equal(after, source) {
		t.Errorf("the restore wrote under the source cluster's id: %d keys before, %d after", len(source), len(after))
	}
	record := "cv/test/vault-staging/shop/restores/vault-eu/" + set + "/shop_two.json"
	if !slices.Contains(keysAt(t, first, "cv/test/vault-staging/"), record) {
		t.Errorf("no record %s", record)
	}
	if r := first.runWith(b.procs[0].config, b.o.env(1), restore...); r.code != 0 || !strings.Contains(r.stdout, "nothing added") {
		t.Errorf("the same restore again: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if got := first.sums("default.two_on_vault2"); got != atThree {
		t.Errorf("again: vault2 holds %s in shop_two, the set of vault %s", got, atThree)
	}
}

// keysAt lists the test bucket's keys under prefix.
func keysAt(t *testing.T, h *harness, prefix string) []string {
	t.Helper()
	keys, err := h.bed.MinIO.Keys(h.ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}
