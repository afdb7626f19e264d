package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// clusterBed is the test bed's cluster with a harness per node: each node
// its own engine, users and grants, its own `clickvault serve`; one MinIO.
type clusterBed struct {
	c     *testbed.Cluster
	o     clusterBedOptions
	nodes []*harness
	procs []*sidecarProc
}

// clusterConfig makes a node a member of the test bed's cluster name
// ("vault", or another of the bed's clusters), named vault-eu in the
// bucket whichever it is, backing up shop.
func clusterConfig(name string) string {
	return fmt.Sprintf("[cluster]\nname = %q\nid = \"vault-eu\"\nshard_timeout = \"2m\"\n", name)
}

// clusterBedOptions shape a clusterBed.
type clusterBedOptions struct {
	replicas []int                          // per shard, its nodes (default {1, 1, 1})
	nodeOpts func(node int) testbed.Options // each node's users and grants (default sidecarUsers)
	env      func(node int) []string        // each node's sidecar's extra environment
	schedule string                         // each sidecar's [schedule] (default: none)
	extra    string                         // more of each sidecar's config (sections after [cluster])
	others   []testbed.OtherCluster         // more clusters over some of the nodes (testbed.ClusterOptions.Others)
}

// newClusterBed starts the cluster with each node's users and grants,
// shop.orders on each node with rows of its own (shard*1000 rows, ids from
// shard*1e6), a Distributed table over them, and a sidecar per node.
func newClusterBed(t *testing.T, o clusterBedOptions) *clusterBed {
	t.Helper()
	if o.nodeOpts == nil {
		o.nodeOpts = func(int) testbed.Options { return sidecarUsers }
	}
	if o.env == nil {
		o.env = func(int) []string { return nil }
	}
	if o.schedule == "" {
		o.schedule = "incremental_every = \"\"\ncheck_every = \"\"\n"
	}
	c := testbed.NewCluster(t, testbed.ClusterOptions{Options: sidecarUsers, Replicas: o.replicas, NodeOptions: o.nodeOpts,
		Others: o.others})
	b := &clusterBed{c: c, o: o}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	for _, n := range c.Nodes {
		admin, err := n.ClickHouse.Dial(ctx, testbed.Admin)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = admin.Close() })
		h := &harness{t: t, bed: &testbed.Bed{ClickHouse: n.ClickHouse, MinIO: c.MinIO}, ctx: ctx, ch: admin, hook: newHookReceiver(t)}
		h.exec("CREATE DATABASE shop")
		h.exec("CREATE TABLE shop.orders (id UInt64) ENGINE = MergeTree ORDER BY id")
		h.exec(fmt.Sprintf("INSERT INTO shop.orders SELECT %d * 1000000 + number FROM numbers(%d)", n.Shard, 1000*n.Shard))
		h.exec("CREATE TABLE shop.all_orders AS shop.orders ENGINE = Distributed(vault, shop, orders)")
		b.nodes = append(b.nodes, h)
	}
	for i := range b.nodes {
		b.procs = append(b.procs, b.startNode(i+1, "vault"))
	}
	return b
}

// startNode starts node's sidecar (1-based) as a member of cluster name.
func (b *clusterBed) startNode(node int, name string) *sidecarProc {
	h, addr := b.nodes[node-1], freeAddr(b.nodes[node-1].t)
	config := h.writeConfig(fmt.Sprintf("[schedule]\n%s[sidecar]\nlisten = %q\nauth_tokens = [%q]\nread_tokens = [%q]\n%s%s",
		b.o.schedule, addr, httpToken, readToken, clusterConfig(name), b.o.extra))
	return h.startSidecarWith(config, addr, b.o.env(node)...)
}

// countOn is a query's one number on a node, as its administrator.
func (h *harness) countOn(query string) uint64 {
	h.t.Helper()
	var col proto.ColUInt64
	if err := h.ch.Do(h.ctx, ch.Query{Body: query, Result: proto.Results{{Name: "n", Data: &col}}}); err != nil {
		h.t.Fatalf("%s: %v", query, err)
	}
	return col.Row(0)
}

// TestClusterBackupRequestMakesASet: alice asks node 1 for a backup in SQL;
// every node's sidecar backs up its own shard, and her request's answer
// is the set, completed, naming each shard's backup. Each shard's backup
// holds exactly its node's rows (restored next to it and counted).
func TestClusterBackupRequestMakesASet(t *testing.T) {
	b := newClusterBed(t, clusterBedOptions{})
	first := b.nodes[0]
	id := first.request(first.as("alice"), "action, database", "'backup', 'shop'")
	st := first.waitState(id, 3*time.Minute, "succeeded", "failed", "rejected")
	if st.state != "succeeded" || !strings.Contains(st.message, " completed: ") {
		t.Fatalf("alice's backup of the cluster: %s: %s", st.state, st.message)
	}
	for shard := 1; shard <= 3; shard++ {
		if !strings.Contains(st.message, fmt.Sprintf("shard %d succeeded: full backup ", shard)) {
			t.Errorf("the answer does not name shard %d's backup: %s", shard, st.message)
		}
	}
	// alice reads the set in the node's sets, by the time she has the
	// answer; mallory reads it too, but not who asked for it.
	set := strings.Fields(st.message)[1]
	q := "SELECT any(concat(state, ' ', kind, ' ', toString(shards), ' ', requested_by)) FROM clickvault.set_catalog WHERE database = 'shop' AND id = '" + set + "'"
	if got := first.textAs(first.as("alice"), q); got != "completed full [1,2,3] alice" {
		t.Errorf("set %s in clickvault.set_catalog: %q, want completed full [1,2,3] alice", set, got)
	}
	if got := first.textAs(first.as("mallory"), q); got != "completed full [1,2,3] " {
		t.Errorf("set %s in clickvault.set_catalog, read by mallory: %q, want it without its requester", set, got)
	}
	// Its time for as_of: the last of its shards' starts, at or after its creation.
	q = "SELECT toString(any(ifNull(last_shard_start >= created_at, 0))) FROM clickvault.set_catalog WHERE database = 'shop' AND id = '" + set + "'"
	if got := first.textAs(first.as("alice"), q); got != "1" {
		t.Errorf("set %s in clickvault.set_catalog: last_shard_start at or after created_at: %q, want 1", set, got)
	}
	for i, h := range b.nodes {
		shard := b.c.Nodes[i].Shard
		folder := fmt.Sprintf("cv/test/vault-eu/shop/shard-%d/full/", shard)
		h.exec(fmt.Sprintf("RESTORE DATABASE shop AS shop_back FROM S3('%s')", b.c.MinIO.URL(folder+backupNamed(t, st.message, shard)+"/")))
		want := h.countOn("SELECT count() AS n FROM shop.orders")
		if got := h.countOn("SELECT count() AS n FROM shop_back.orders"); got != want || want != uint64(1000*shard) {
			t.Errorf("shard %d's backup holds %d rows, its node %d (want %d)", shard, got, want, 1000*shard)
		}
	}
	b.everyRefusalAnswered(t)
}

// everyRefusalAnswered: requests refused before they are claimed (here a
// database no node lists), three on each node, are each answered
// rejected by that node's sidecar. A node's rejections are its own
// sidecars' to write: counted among the cluster's live sidecars, two in
// three were left unanswered, pending for good.
func (b *clusterBed) everyRefusalAnswered(t *testing.T) {
	t.Helper()
	var ids [][]string
	for _, h := range b.nodes {
		var mine []string
		for range 3 {
			mine = append(mine, h.request(h.as("alice"), "action, database", "'backup', 'nowhere'"))
		}
		ids = append(ids, mine)
	}
	for i, h := range b.nodes {
		for _, id := range ids[i] {
			if st := h.waitState(id, time.Minute, "rejected", "failed", "succeeded"); st.state != "rejected" ||
				!strings.Contains(st.message, "nowhere is not listed in databases") {
				t.Errorf("node %d's request %s: %s: %s", i+1, id, st.state, st.message)
			}
		}
	}
}

// TestClusterGrantsArePerNode: alice may back shop up on nodes 1 and 2
// only. Her request on node 1 makes a set whose shard 3 is rejected by
// node 3's sidecar, which checks node 3's grants; the set is partial and
// the request failed, saying so per shard. She may drop shop's tables on
// node 1 alone: her full set (a new chain of every shard) passes node 1's
// admission and is rejected by node 2, which asks DROP TABLE of her too.
func TestClusterGrantsArePerNode(t *testing.T) {
	b := newClusterBed(t, clusterBedOptions{nodeOpts: func(node int) testbed.Options {
		switch node {
		case 1:
			return sidecarUsersWith(map[string][]string{"alice": {"DROP TABLE ON shop.*"}})
		case 2:
			return sidecarUsers
		}
		opts := sidecarUsersWith(nil)
		opts.Grants["alice"] = append(requesterGrants(), "SELECT ON shop.*") // no BACKUP on node 3
		return opts
	}})
	first := b.nodes[0]
	id := first.request(first.as("alice"), "action, database", "'backup', 'shop'")
	st := first.waitState(id, 3*time.Minute, "succeeded", "failed", "rejected")
	if st.state != "failed" || !strings.Contains(st.message, " partial: ") ||
		!strings.Contains(st.message, "shard 3 rejected: ") || !strings.Contains(st.message, "alice may not BACKUP shop on this node") {
		t.Fatalf("alice's backup with no right on node 3: %s: %s", st.state, st.message)
	}
	for shard := 1; shard <= 2; shard++ {
		if !strings.Contains(st.message, fmt.Sprintf("shard %d succeeded", shard)) {
			t.Errorf("shard %d: %s", shard, st.message)
		}
	}
	samples := strings.Join(scrapeClickVault(t, "http://"+b.procs[0].addr), "\n")
	for _, want := range []string{`clickvault_set_shards{database="shop",state="succeeded"} 2`,
		`clickvault_set_shards{database="shop",state="rejected"} 1`} {
		if !strings.Contains(samples, want) {
			t.Errorf("node 1's /metrics lacks %s:\n%s", want, samples)
		}
	}
	full := first.waitState(first.request(first.as("alice"), "action, database, kind", "'backup', 'shop', 'full'"), 3*time.Minute,
		"succeeded", "failed", "rejected")
	if full.state != "failed" || !strings.Contains(full.message, "shard 1 succeeded") ||
		!strings.Contains(full.message, "shard 2 rejected: ") || !strings.Contains(full.message, "alice may not DROP TABLE shop on this node") {
		t.Fatalf("alice's full set, DROP TABLE hers on node 1 alone: %s: %s", full.state, full.message)
	}
}

// backupNamed is shard's backup as the set's answer names it.
func backupNamed(t *testing.T, message string, shard int) string {
	t.Helper()
	marker := fmt.Sprintf("shard %d succeeded: full backup ", shard)
	i := strings.Index(message, marker)
	if i < 0 {
		t.Fatalf("no backup of shard %d in %q", shard, message)
	}
	return strings.Fields(message[i+len(marker):])[0]
}

// TestClusterCreatorKilled: shard 1 is on nodes 1 and 2, shard 2 on node
// 3. Node 1's sidecar makes alice's set and is killed at once (SIGKILL,
// before it answers or backs anything up). The set still completes (node 2
// backs shard 1 up, node 3 shard 2), and node 1's sidecar, restarted,
// answers alice's request from that set: one set, not two.
func TestClusterCreatorKilled(t *testing.T) {
	b := newClusterBed(t, clusterBedOptions{replicas: []int{2, 1}, env: func(node int) []string {
		if node == 1 {
			return []string{envFaultPoint + "=set-created"}
		}
		return nil
	}})
	first := b.nodes[0]
	id := first.request(first.as("alice"), "action, database", "'backup', 'shop'")
	select {
	case <-b.procs[0].exited:
	case <-time.After(time.Minute):
		t.Fatal("node 1's sidecar was not killed when it made the set")
	}
	b.procs[0] = first.startSidecar(b.procs[0].config, b.procs[0].addr)
	st := first.waitState(id, 4*time.Minute, "succeeded", "failed", "rejected")
	if st.state != "succeeded" || !strings.Contains(st.message, "shard 1 succeeded") || !strings.Contains(st.message, "shard 2 succeeded") {
		t.Fatalf("alice's backup after its sidecar was killed: %s: %s", st.state, st.message)
	}
	var sets []string
	for _, k := range first.keys("cv/test/vault-eu/shop/sets/") {
		if strings.HasSuffix(k, "/set.json") {
			sets = append(sets, k)
		}
	}
	if len(sets) != 1 {
		t.Errorf("sets made: %v, want one", sets)
	}
}

// TestClusterScheduleMakesOneSetPerSlot: every node's sidecar runs the
// schedule (an incremental every 3 s); each slot is taken by one sidecar,
// whose request makes one set, so there are as many sets as slots taken
// (but for a slot whose request was left to resume when the sidecars
// stopped), one per request.
func TestClusterScheduleMakesOneSetPerSlot(t *testing.T) {
	b := newClusterBed(t, clusterBedOptions{schedule: "incremental_every = \"3s\"\ncheck_every = \"\"\n"})
	h := b.nodes[0]
	deadline := time.Now().Add(3 * time.Minute)
	var sets []string
	for time.Now().Before(deadline) {
		sets = sets[:0]
		for _, k := range h.keys("cv/test/vault-eu/shop/sets/") {
			if strings.HasSuffix(k, "/set.json") {
				sets = append(sets, k)
			}
		}
		if len(sets) >= 3 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, p := range b.procs {
		if code := p.stop(t); code != 0 {
			t.Errorf("a sidecar exited %d", code)
		}
	}
	// Every slot key taken, wherever it is: the cluster's are
	// {root}/.clickvault/schedule/shop/{slot}; a node keeping its own would
	// take each slot number once more.
	var slots []string
	taken := map[string]int{}
	for _, k := range h.keys("cv/test/vault-eu/") {
		if strings.Contains(k, ".clickvault/schedule/shop/") {
			slots = append(slots, k)
			taken[path.Base(k)]++
		}
	}
	sets = sets[:0]
	for _, k := range h.keys("cv/test/vault-eu/shop/sets/") {
		if strings.HasSuffix(k, "/set.json") {
			sets = append(sets, k)
		}
	}
	// A slot taken just before the sidecars stopped may have its request
	// left to resume, its set not made yet: at most one per sidecar (a
	// sidecar takes no slot while its own backup request waits).
	if len(sets) < 3 || len(sets) > len(slots) || len(slots)-len(sets) > len(b.procs) || len(taken) != len(slots) {
		t.Fatalf("%d sets for %d schedule slot keys of %d slots, want one set per slot, each slot taken once (at least 3):\nsets %v\nslots %v",
			len(sets), len(slots), len(taken), sets, slots)
	}
	byRequest := map[string]string{}
	for _, k := range sets {
		var set struct {
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal([]byte(h.object(k)), &set); err != nil || set.RequestID == "" {
			t.Fatalf("%s: %v", k, err)
		}
		if other, dup := byRequest[set.RequestID]; dup {
			t.Errorf("request %s made two sets: %s and %s", set.RequestID, other, k)
		}
		byRequest[set.RequestID] = k
	}
}
