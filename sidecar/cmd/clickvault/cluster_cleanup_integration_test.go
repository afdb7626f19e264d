package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestClusterCleanupDeletesWholeSets: with keep_full_backups = 1, alice
// makes set A (the first, full), set B (full) and set C (incremental, on
// B). Her dry run of a cleanup on node 3 deletes nothing, and her cleanup
// that deletes is rejected (grants are each node's own). The operator's on
// node 3 — first one that a verify's pin on shard 2's backup of A stops
// part way — at last deletes set A whole: its records and its backup on every shard, never
// one shard of it. B and C stay with every backup C rests on, and C
// restores, every shard with its rows at C. GET /v1/sets lists B and C.
func TestClusterCleanupDeletesWholeSets(t *testing.T) {
	b := newClusterBed(t, clusterBedOptions{extra: "[retention]\nkeep_full_backups = 1\n",
		nodeOpts: func(int) testbed.Options {
			return sidecarUsersWith(map[string][]string{"alice": {"DROP TABLE ON shop.*"}}) // kind full and cleanup delete backups
		}})
	first, third := b.nodes[0], b.nodes[2]
	sets, messages := b.threeSets(t)
	var atC []string
	for _, h := range b.nodes {
		atC = append(atC, fmt.Sprintf("%d/%d", h.countOn("SELECT count() AS n FROM shop.orders"),
			h.countOn("SELECT sum(cityHash64(*)) AS n FROM shop.orders")))
	}
	keysOf := func(prefix string) int { return len(first.keys(prefix)) }
	shardFolder := func(shard int, set int) string {
		return fmt.Sprintf("cv/test/vault-eu/shop/shard-%d/full/%s/", shard, backupNamed(t, messages[set], shard))
	}
	dry := b.ask(third, "action, database, dry_run", "'cleanup', 'shop', true")
	if dry.state != "succeeded" || !strings.Contains(dry.message, "would delete 1 sets ("+sets[0]+") and 3 backups") ||
		keysOf("cv/test/vault-eu/shop/sets/"+sets[0]+"/") == 0 {
		t.Fatalf("dry run: %s: %s", dry.state, dry.message)
	}
	if st := b.ask(third, "action, database", "'cleanup', 'shop'"); st.state != "rejected" ||
		!strings.Contains(st.message, "can check DROP TABLE on shop on its own server only") ||
		keysOf("cv/test/vault-eu/shop/sets/"+sets[0]+"/") == 0 {
		t.Fatalf("alice's cleanup, though she may drop shop's tables on every node: %s: %s", st.state, st.message)
	}
	b.cleanupStoppedByAPin(t, sets[0], backupNamed(t, messages[0], 2), shardFolder)
	st := b.operatorCleanup(t, 2) // shards 1 and 3's backups of A went with the stopped one
	if st.state != "succeeded" || !strings.Contains(st.message, "deleted 1 sets ("+sets[0]+") and 1 backups") ||
		!strings.Contains(st.message, "kept 2 sets") {
		t.Fatalf("cleanup: %s: %s", st.state, st.message)
	}
	if n := keysOf("cv/test/vault-eu/shop/sets/" + sets[0] + "/"); n != 0 {
		t.Errorf("set A's records: %d objects left", n)
	}
	for shard := 1; shard <= 3; shard++ {
		if n := keysOf(shardFolder(shard, 0)); n != 0 {
			t.Errorf("shard %d's backup of set A: %d objects left", shard, n)
		}
		if keysOf(shardFolder(shard, 1)) == 0 || keysOf("cv/test/vault-eu/shop/sets/"+sets[2]+"/") == 0 {
			t.Errorf("shard %d's backup of set B, or set C's records, deleted", shard)
		}
	}
	code, listed := call(t, http.MethodGet, "http://"+b.procs[1].addr+"/v1/sets?database=shop", readToken, "")
	if code != http.StatusOK || strings.Contains(listed, sets[0]) || !strings.Contains(listed, `"id":"`+sets[1]+`","database":"shop","state":"completed"`) {
		t.Errorf("node 2's GET /v1/sets after the cleanup: %d %s", code, listed)
	}
	restore := b.ask(first, "action, database, backup, target, consumers", fmt.Sprintf("'restore', 'shop', '%s', 'shop_restored', 'skip'", sets[2]))
	if restore.state != "succeeded" {
		t.Fatalf("restore of set C after the cleanup: %s: %s", restore.state, restore.message)
	}
	for i, h := range b.nodes {
		got := fmt.Sprintf("%d/%d", h.countOn("SELECT count() AS n FROM shop_restored.orders"),
			h.countOn("SELECT sum(cityHash64(*)) AS n FROM shop_restored.orders"))
		if got != atC[i] {
			t.Errorf("node %d: set C restored holds %s, the shard held %s", i+1, got, atC[i])
		}
	}
}

// cleanupStoppedByAPin pins shard 2's backup of set A (as a verify of it
// does) and asks for a cleanup: it fails, deleting shards 1 and 3's
// backups of A and keeping A's records, marked deleting, so that nothing
// is left named by no set; a restore of A is refused. The pin is then
// removed. Deleting the records first left shard 2's backup for good.
func (b *clusterBed) cleanupStoppedByAPin(t *testing.T, setA, shard2Backup string, shardFolder func(shard, set int) string) {
	t.Helper()
	h := b.nodes[0]
	now := time.Now().UTC()
	pin, _ := json.Marshal(map[string]any{"id": "test-pin", "database": "shop", "backup": shard2Backup, "action": "verify",
		"holder": "test", "since": now, "heartbeat": now.Add(10 * time.Minute)}) // live through the cleanup, however slow
	key := "cv/test/vault-eu/shop/shard-2/.clickvault_pins/test-pin.json"
	m := h.bed.MinIO
	if _, err := m.Client().PutObject(h.ctx, &s3.PutObjectInput{Bucket: &m.Bucket, Key: &key, Body: bytes.NewReader(pin)}); err != nil {
		t.Fatal(err)
	}
	st := b.operatorCleanup(t, 2)
	if st.state != "failed" || !strings.Contains(st.message, "set "+setA+" is marked deleting") {
		t.Errorf("cleanup with shard 2's backup of set A pinned: %s: %s", st.state, st.message)
	}
	if len(h.keys(shardFolder(1, 0))) != 0 || len(h.keys(shardFolder(3, 0))) != 0 || len(h.keys(shardFolder(2, 0))) == 0 {
		t.Errorf("after the stopped cleanup, shards 1 and 3's backups of set A should be gone and shard 2's kept")
	}
	if rec := h.object("cv/test/vault-eu/shop/sets/" + setA + "/set.json"); !strings.Contains(rec, `"state":"deleting"`) {
		t.Errorf("set A's set.json after the stopped cleanup: %s", rec)
	}
	restore := b.ask(h, "action, database, backup, target", fmt.Sprintf("'restore', 'shop', '%s', 'shop_restored'", setA))
	if restore.state != "rejected" || !strings.Contains(restore.message, "being deleted") {
		t.Errorf("restore of set A being deleted: %s: %s", restore.state, restore.message)
	}
	if _, err := m.Client().DeleteObject(h.ctx, &s3.DeleteObjectInput{Bucket: &m.Bucket, Key: &key}); err != nil {
		t.Fatal(err)
	}
}

// operatorCleanup asks node i's sidecar (0-based) for the operator's
// cleanup of shop over HTTP and waits for its answer: on a cluster a
// login's cleanup that deletes is refused.
func (b *clusterBed) operatorCleanup(t *testing.T, i int) status {
	t.Helper()
	code, out := post(t, "http://"+b.procs[i].addr+"/v1/cleanup", httpToken, `{"database":"shop"}`)
	var queued struct{ ID string }
	if err := json.Unmarshal([]byte(out), &queued); code != http.StatusAccepted || err != nil || queued.ID == "" {
		t.Fatalf("POST /v1/cleanup to node %d: %d %s", i+1, code, out)
	}
	return b.nodes[i].waitState(queued.ID, 3*time.Minute, "succeeded", "failed", "rejected")
}

// ask inserts alice's request on node h and waits for its answer.
func (b *clusterBed) ask(h *harness, columns, values string) status {
	h.t.Helper()
	id := h.request(h.as("alice"), columns, values)
	return h.waitState(id, 3*time.Minute, "succeeded", "failed", "rejected")
}

// threeSets has alice make set A (the first: full), B (kind full) and C
// (incremental on B, after rows were added on every shard), on node 1; it
// returns their names and answers.
func (b *clusterBed) threeSets(t *testing.T) (sets, messages []string) {
	t.Helper()
	for i, kind := range []string{"auto", "full", "auto"} {
		if i == 2 {
			for n, h := range b.nodes {
				h.exec(fmt.Sprintf("INSERT INTO shop.orders SELECT %d * 1000000 + 500000 + number FROM numbers(%d)", n+1, 100*(n+1)))
			}
		}
		st := b.ask(b.nodes[0], "action, database, kind", fmt.Sprintf("'backup', 'shop', '%s'", kind))
		if st.state != "succeeded" {
			t.Fatalf("set %d (%s): %s: %s", i+1, kind, st.state, st.message)
		}
		sets, messages = append(sets, strings.Fields(st.message)[1]), append(messages, st.message)
	}
	if !strings.Contains(messages[2], "incremental backup") {
		t.Fatalf("set C is not incremental: %s", messages[2])
	}
	return sets, messages
}
