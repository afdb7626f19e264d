package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestClusterCopySurvivesThePrimary: three nodes, each with its sidecar
// and a [[copy]] target on a second MinIO (prefix cv/dr). Set A was taken
// before the copy was configured: the first copy round sends it. Rows are
// added and alice's set B (incremental on A) is at the copy, whole,
// within a minute of its answer, with each shard's backup named at the
// copy. Then every object of the primary bucket is deleted and shop is
// lost on every node; each sidecar, pointed at the copy's bucket and
// prefix as its primary, restores the newest set by itself: every shard's
// count and sum(cityHash64(*)), and the Distributed count, are set B's.
func TestClusterCopySurvivesThePrimary(t *testing.T) {
	b, setA, _ := restoreBed(t, clusterBedOptions{})
	dr := b.nodes[0].bed.StartMinIO(t, "dr-cluster")
	b.o.extra = fmt.Sprintf("[[copy]]\nname = \"dr\"\nendpoint = %q\nbucket = %q\nprefix = \"cv/dr\"\naccess_key = %q\nsecret_key = %q\n",
		dr.Endpoint, dr.Bucket, dr.AccessKey, dr.SecretKey)
	b.restartAll(t)
	for i, h := range b.nodes {
		h.exec(fmt.Sprintf("INSERT INTO shop.orders SELECT %d * 1000000 + 700000 + number FROM numbers(%d)", i+1, 50*(i+1)))
	}
	first := b.nodes[0]
	st := first.waitState(first.request(first.as("alice"), "action, database", "'backup', 'shop'"), 3*time.Minute,
		"succeeded", "failed", "rejected")
	if st.state != "succeeded" || !strings.Contains(st.message, "incremental backup") {
		t.Fatalf("alice's set B: %s: %s", st.state, st.message)
	}
	setB := strings.Fields(st.message)[1]
	var before []shardState
	for _, h := range b.nodes {
		before = append(before, h.shopState())
	}
	waitForKeys(t, first, dr, time.Minute, "cv/dr/vault-eu/shop/sets/"+setA+"/set.json", "cv/dr/vault-eu/shop/sets/"+setB+"/set.json")
	first.bed.MinIO = dr
	if rec := first.object("cv/dr/vault-eu/shop/sets/" + setB + "/shard-2.json"); !strings.Contains(rec, `"folder":"cv/dr/vault-eu/shop/shard-2/incremental/`) {
		t.Errorf("shard 2's result of set B at the copy does not name its backup there: %s", rec)
	}

	b.nodes[1].removeObjects("")
	b.loseShop()
	for _, h := range b.nodes {
		h.bed.MinIO = dr
	}
	b.o.extra, b.o.env = "", func(int) []string { return []string{"CLICKVAULT_S3_PREFIX=cv/dr"} }
	b.restartAll(t)
	second := b.nodes[1]
	st = second.waitState(second.request(second.as("alice"), "action, database", "'restore', 'shop'"), 4*time.Minute,
		"succeeded", "failed", "rejected")
	if st.state != "succeeded" || !strings.Contains(st.message, "set "+setB+" into shop restored") {
		t.Fatalf("alice's restore of the cluster from the copy: %s: %s", st.state, st.message)
	}
	b.expectShop(t, before, "restored from the copy")
}

// restartAll stops every node's sidecar and starts it again with the
// bed's options as they are now.
func (b *clusterBed) restartAll(t *testing.T) {
	t.Helper()
	for i := range b.procs {
		if code := b.procs[i].stop(t); code != 0 {
			t.Fatalf("node %d's sidecar exited %d on SIGTERM", i+1, code)
		}
		b.procs[i] = b.startNode(i+1, "vault")
	}
}

// waitForKeys waits until every key is in m, failing the test after within.
func waitForKeys(t *testing.T, h *harness, m *testbed.MinIO, within time.Duration, keys ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	var have []string
	for time.Now().Before(deadline) {
		var err error
		if have, err = m.Keys(h.ctx, ""); err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(keys, func(k string) bool { return !slices.Contains(have, k) }) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("after %s the copy lacks some of %v; it holds %d objects", within, keys, len(have))
}
