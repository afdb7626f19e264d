package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// tableSums are the count and sum(cityHash64(*)) of a node's shop.orders
// and shop.events, as its administrator reads them.
func (h *harness) tableSums() string {
	h.t.Helper()
	s := h.shopTable("orders")
	return s + " " + h.shopTable("events")
}

func (h *harness) shopTable(table string) string {
	h.t.Helper()
	return fmt.Sprintf("%d/%d", h.countOn("SELECT count() AS n FROM shop."+table), h.countOn("SELECT sum(cityHash64(*)) AS n FROM shop."+table))
}

// TestClusterRestoreOneShard: alice's set of three shards (orders and
// events on each). Node 1 gets rows after the set, and an administrator
// drops node 2's shop.orders. Alice's restore of shard 2 alone (SQL, on
// node 1) runs one step, on node 2: its orders hold the set's rows again
// (count and sum(cityHash64(*))), its events, which still held rows, are
// left as they were and named in the answer, and nodes 1 and 3 are
// untouched. Asked again over HTTP (naming the set) and from node 3's CLI
// (--shard 2, the newest set), it adds nothing. Shard 4, which the set
// lacks, is rejected naming the set's shards.
func TestClusterRestoreOneShard(t *testing.T) {
	b, set, before := restoreBed(t, clusterBedOptions{})
	first, second, third := b.nodes[0], b.nodes[1], b.nodes[2]
	first.exec("INSERT INTO shop.orders SELECT 800000000 + number FROM numbers(55)")
	second.exec("DROP TABLE shop.orders SYNC")
	others := []string{first.tableSums(), third.tableSums()}
	st := b.ask(first, "action, database, shard", "'restore', 'shop', 2")
	want := fmt.Sprintf("shard 2 of set %s into shop restored: t2-r1-s2-data (2000 rows, ", set)
	if st.state != "succeeded" || !strings.Contains(st.message, want) || !strings.Contains(st.message, "holding rows: events (1000)") ||
		strings.Contains(st.message, "t1-") || strings.Contains(st.message, "t3-") {
		t.Fatalf("shard 2 alone: %s: %s", st.state, st.message)
	}
	if got := second.tableSums(); got != before[1].orders+" "+before[1].events {
		t.Errorf("node 2 holds %s (orders, events), the set %s %s", got, before[1].orders, before[1].events)
	}
	if got := []string{first.tableSums(), third.tableSums()}; got[0] != others[0] || got[1] != others[1] {
		t.Errorf("nodes 1 and 3 hold %v, before the restore %v", got, others)
	}
	id := queued(t, "http://"+b.procs[1].addr+"/v1/restores", fmt.Sprintf(`{"database":"shop","backup":%q,"shard":2}`, set))
	if st := second.waitState(id, 3*time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" ||
		!strings.HasPrefix(st.message, "shard 2 of set "+set) || !strings.Contains(st.message, "nothing added") {
		t.Errorf("shard 2 again over HTTP: %s: %s", st.state, st.message)
	}
	cli := third.run(b.procs[2].config, "restore", "--shard", "2")
	if cli.code != 0 || !strings.Contains(cli.stdout, "shard 2 of set "+set) || !strings.Contains(cli.stdout, "nothing added") {
		t.Errorf("shard 2 again from node 3's CLI: exit %d\n%s\n%s", cli.code, cli.stdout, cli.stderr)
	}
	if got := second.tableSums(); got != before[1].orders+" "+before[1].events {
		t.Errorf("node 2 holds %s after the restore again, the set %s %s", got, before[1].orders, before[1].events)
	}
	st = b.ask(first, "action, database, backup, shard", fmt.Sprintf("'restore', 'shop', '%s', 4", set))
	if st.state != "rejected" || !strings.Contains(st.message, "has shards [1 2 3], not 4") {
		t.Errorf("shard 4: %s: %s", st.state, st.message)
	}
}
