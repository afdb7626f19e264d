package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

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
	b.o.extra = copyTargetDR(dr)
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
	b.restoreFromTheCopyWherePrimaryFails(t, setB, st.message, before)

	first.removeObjects("") // every object of the primary bucket
	b.loseShop()
	for _, h := range b.nodes { // from here on, the copy is the nodes' bucket
		h.bed.MinIO = dr
	}
	if rec := first.object("cv/dr/vault-eu/shop/sets/" + setB + "/shard-2.json"); !strings.Contains(rec, `"folder":"cv/dr/vault-eu/shop/shard-2/incremental/`) {
		t.Errorf("shard 2's result of set B at the copy does not name its backup there: %s", rec)
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

// restoreFromTheCopyWherePrimaryFails: shop is lost on every node and
// shard 2's backup of set B loses its manifest in the primary bucket:
// alice's restore fails, naming it; asked again with source 'dr', it
// reads the set and every shard's backup at the copy, and every shard
// holds set B's rows. (A restore the primary failed part way goes on from
// its record reading the copy: TestSetRestoreFromACopyGoesOnWhereThePrimaryFailed.)
func (b *clusterBed) restoreFromTheCopyWherePrimaryFails(t *testing.T, setB, answerB string, before []shardState) {
	t.Helper()
	second := b.nodes[1]
	b.loseShop()
	marker := "shard 2 succeeded: incremental backup "
	i := strings.Index(answerB, marker)
	if i < 0 {
		t.Fatalf("no incremental backup of shard 2 in %q", answerB)
	}
	shard2 := strings.Fields(answerB[i+len(marker):])[0]
	removeAt(t, second, second.bed.MinIO, "cv/test/vault-eu/shop/shard-2/incremental/"+shard2+"/.backup")
	restore := "'restore', 'shop', '" + setB + "'"
	st := second.waitState(second.request(second.as("alice"), "action, database, backup", restore), 4*time.Minute, "succeeded", "failed", "rejected")
	if st.state != "failed" || !strings.Contains(st.message, "shard 2's backup "+shard2) || !strings.Contains(st.message, "is missing") {
		t.Fatalf("alice's restore with shard 2's backup broken in the primary: %s: %s", st.state, st.message)
	}
	st = second.waitState(second.request(second.as("alice"), "action, database, backup, source", restore+", 'dr'"), 4*time.Minute,
		"succeeded", "failed", "rejected")
	if st.state != "succeeded" || !strings.Contains(st.message, "set "+setB+" (read from copy target dr) into shop restored") {
		t.Fatalf("alice's restore again from the copy: %s: %s", st.state, st.message)
	}
	b.expectShop(t, before, "restored from the copy where the primary's shard 2 failed")
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

// copyTargetDR is a [[copy]] target named dr on m, under prefix cv/dr.
func copyTargetDR(m *testbed.MinIO) string {
	return fmt.Sprintf("[[copy]]\nname = \"dr\"\nendpoint = %q\nbucket = %q\nprefix = \"cv/dr\"\naccess_key = %q\nsecret_key = %q\n",
		m.Endpoint, m.Bucket, m.AccessKey, m.SecretKey)
}

// TestClusterCopyKeepsItsOwnRetention: the copy target keeps one full set
// ([copy.retention]), the primary four. Set A (full) reaches the copy;
// then B (full) and C (incremental on B). `clickvault cleanup --copy dr` on
// node 3 — a dry run, then the cleanup — deletes A at the copy, its records
// and every shard's backup of it, and keeps B and C; the primary keeps A.
// Set D (incremental) then reaches the copy and A is not sent again; then
// the CLI at the copy (cliAtTheCopy).
func TestClusterCopyKeepsItsOwnRetention(t *testing.T) {
	b := newClusterBed(t, clusterBedOptions{nodeOpts: func(int) testbed.Options {
		return sidecarUsersWith(map[string][]string{"alice": {"DROP TABLE ON shop.*"}}) // kind full
	}})
	dr := b.nodes[0].bed.StartMinIO(t, "dr-kept")
	b.o.extra = copyTargetDR(dr) + "[copy.retention]\nkeep_full_backups = 1\n"
	b.restartAll(t)
	first, third := b.nodes[0], b.nodes[2]
	setAt := func(prefix, set string) string { return prefix + "/vault-eu/shop/sets/" + set + "/set.json" }
	makeSet := func(kind string) (string, string) {
		st := b.ask(first, "action, database, kind", fmt.Sprintf("'backup', 'shop', '%s'", kind))
		if st.state != "succeeded" {
			t.Fatalf("set (%s): %s: %s", kind, st.state, st.message)
		}
		return strings.Fields(st.message)[1], st.message
	}
	setA, answerA := makeSet("auto")
	waitForKeys(t, first, dr, time.Minute, setAt("cv/dr", setA))
	setB, answerB := makeSet("full")
	first.exec("INSERT INTO shop.orders SELECT 1000000 + 800000 + number FROM numbers(10)")
	setC, _ := makeSet("auto")
	waitForKeys(t, first, dr, time.Minute, setAt("cv/dr", setB), setAt("cv/dr", setC))
	if r := third.run(b.procs[2].config, "cleanup", "--copy", "dr", "--dry-run"); r.code != 0 ||
		!strings.Contains(r.stdout, "would delete 1 sets ("+setA+")") {
		t.Fatalf("cleanup --copy dr --dry-run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := third.run(b.procs[2].config, "cleanup", "--copy", "dr"); r.code != 0 || !strings.Contains(r.stdout, "deleted 1 sets ("+setA+")") {
		t.Fatalf("cleanup --copy dr: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	setD, _ := makeSet("auto")
	waitForKeys(t, first, dr, time.Minute, setAt("cv/dr", setD))
	keys, err := dr.Keys(first.ctx, "cv/dr/")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k, "/sets/"+setA+"/") {
			t.Errorf("set A's records left at the copy, or sent again: %s", k)
		}
		for shard := 1; shard <= 3; shard++ {
			if strings.Contains(k, fmt.Sprintf("/shard-%d/full/%s/", shard, backupNamed(t, answerA, shard))) {
				t.Errorf("shard %d's backup of set A left at the copy, or sent again: %s", shard, k)
			}
		}
	}
	for _, set := range []string{setB, setC, setD} {
		if !slices.Contains(keys, setAt("cv/dr", set)) {
			t.Errorf("set %s is not at the copy", set)
		}
	}
	if first.object(setAt("cv/test", setA)) == "" {
		t.Error("the copy's cleanup reached the primary's set A")
	}
	b.cliAtTheCopy(t, dr, setD, backupNamed(t, answerB, 2))
}

// cliAtTheCopy: a node's CLI works its own shard at the copy. Set D's
// set.json and shard 3's result are lost there: node 3's `clickvault copy`
// writes both again. Node 2's `list` names its shard's backup of set B and
// its `check --copy dr` finds every backup good; once an object of that
// backup is deleted at the copy, the check exits 1 naming it broken,
// while node 1's check of its own shard there stays good.
func (b *clusterBed) cliAtTheCopy(t *testing.T, dr *testbed.MinIO, setD, shard2B string) {
	t.Helper()
	first, second, third := b.nodes[0], b.nodes[1], b.nodes[2]
	sets := "cv/dr/vault-eu/shop/sets/" + setD + "/"
	removeAt(t, first, dr, sets+"set.json", sets+"shard-3.json")
	if r := third.run(b.procs[2].config, "copy", "--to", "dr"); r.code != 0 {
		t.Fatalf("node 3's copy --to dr: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	waitForKeys(t, first, dr, time.Second, sets+"set.json", sets+"shard-3.json")
	if r := second.run(b.procs[1].config, "list"); r.code != 0 || !strings.Contains(r.stdout, shard2B) {
		t.Fatalf("node 2's list does not name its shard's backup %s: exit %d\n%s\n%s", shard2B, r.code, r.stdout, r.stderr)
	}
	if r := second.run(b.procs[1].config, "check", "--copy", "dr"); r.code != 0 || !strings.Contains(r.stdout, "backups checked, 0 broken") {
		t.Fatalf("node 2's check --copy dr: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	keys, err := dr.Keys(first.ctx, "cv/dr/vault-eu/shop/shard-2/full/"+shard2B+"/")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(keys, func(k string) bool { return strings.Contains(k, "/data/") })
	if i < 0 {
		t.Fatalf("no data object of shard 2's backup %s at the copy: %v", shard2B, keys)
	}
	removeAt(t, first, dr, keys[i])
	if r := second.run(b.procs[1].config, "check", "--copy", "dr"); r.code != 1 || !strings.Contains(r.stdout, shard2B+": BROKEN") {
		t.Fatalf("node 2's check --copy dr after %s was deleted there: exit %d\n%s\n%s", keys[i], r.code, r.stdout, r.stderr)
	}
	if r := first.run(b.procs[0].config, "check", "--copy", "dr"); r.code != 0 {
		t.Fatalf("node 1's check --copy dr, its shard untouched: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// removeAt deletes keys from m.
func removeAt(t *testing.T, h *harness, m *testbed.MinIO, keys ...string) {
	t.Helper()
	for _, key := range keys {
		if _, err := m.Client().DeleteObject(h.ctx, &s3.DeleteObjectInput{Bucket: &m.Bucket, Key: &key}); err != nil {
			t.Fatalf("delete %s: %v", key, err)
		}
	}
}
