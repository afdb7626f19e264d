//go:build bench

package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
	"github.com/google/uuid"
)

// TestBenchClusterSet: on three engines with a sidecar each, a full set of
// the three shards (request → answer, through SQL on node 1) against the
// slowest of the three shards' backups taken alone by hand (BACKUP … ASYNC
// and polling), paired per round; and pickup on every node. The three
// engines share this machine's cores, so a set's three BACKUPs compete for
// them where a shard alone does not.
func TestBenchClusterSet(t *testing.T) {
	b := newClusterBed(t, clusterBedOptions{})
	rows := envInt("CLICKVAULT_BENCH_ROWS", 18_000_000) / 6
	for _, h := range b.nodes {
		h.exec("CREATE TABLE shop.big (id UInt64, at DateTime, payload String) ENGINE = MergeTree ORDER BY id")
		h.exec(fmt.Sprintf(`INSERT INTO shop.big SELECT number, toDateTime('2026-01-01 00:00:00') + number,
			concat(hex(sipHash64(number)), '-', hex(sipHash64(number + 1)), '-', toString(number)) FROM numbers(%d)`, rows))
	}
	var ratios, sets, alones, togethers, shared []float64
	for round := 0; round < envInt("CLICKVAULT_BENCH_ROUNDS", 5); round++ {
		set := b.setThroughSidecars()
		var slowest time.Duration
		for i, h := range b.nodes {
			slowest = max(slowest, h.rawBackupOf("shop", fmt.Sprintf("bench/alone/%d/%d/", round, i)))
		}
		together := b.rawBackupsTogether("shop", fmt.Sprintf("bench/together/%d/", round))
		sets, alones = append(sets, set.Seconds()), append(alones, slowest.Seconds())
		ratios = append(ratios, set.Seconds()/slowest.Seconds())
		togethers, shared = append(togethers, together.Seconds()), append(shared, set.Seconds()/together.Seconds())
	}
	med, low, high := medianCI(ratios)
	report(t, "cluster/set-vs-slowest-shard", "median %.2f× (95%% CI %.2f–%.2f×, mean %.2f×) over %d rounds; set median %.2f s, slowest shard alone median %.2f s; %d rows of about 56 bytes per shard",
		med, low, high, mean(ratios), len(ratios), median(sets), median(alones), rows)
	med, low, high = medianCI(shared)
	report(t, "cluster/set-vs-shards-together", "median %.2f× (95%% CI %.2f–%.2f×) over %d rounds; every shard by hand at once median %.2f s",
		med, low, high, len(shared), median(togethers))
	for i, h := range b.nodes {
		h.benchClusterPickup(t, i+1, envInt("CLICKVAULT_BENCH_REQUESTS", 30))
	}
}

func median(xs []float64) float64 {
	m, _, _ := medianCI(xs)
	return m
}

// setThroughSidecars asks node 1 for a full set and returns the time from
// the request's insert to its answer.
func (b *clusterBed) setThroughSidecars() time.Duration {
	h := b.nodes[0]
	id := h.request(h.ch, "action, database, kind", "'backup', 'shop', 'full'")
	st := h.waitState(id, 10*time.Minute, "succeeded", "failed", "rejected")
	if st.state != "succeeded" {
		h.t.Fatalf("the set: %s: %s", st.state, st.message)
	}
	us := h.count(fmt.Sprintf(`SELECT toUInt64(assumeNotNull(
		(SELECT maxIf(toUnixTimestamp64Micro(at), state = 'succeeded') FROM clickvault.request_log WHERE request_id = '%[1]s') -
		(SELECT toUnixTimestamp64Micro(requested_at) FROM clickvault.requests WHERE id = '%[1]s')))`, id))
	return time.Duration(us) * time.Microsecond
}

// rawBackupOf is one database's BACKUP … ASYNC by hand, polled every
// 100 ms: its wall time.
func (h *harness) rawBackupOf(database, folder string) time.Duration {
	start := time.Now()
	h.awaitRawBackup(h.startRawBackup(database, folder))
	return time.Since(start)
}

// startRawBackup sends BACKUP … ASYNC by hand and returns its id.
func (h *harness) startRawBackup(database, folder string) string {
	m := h.bed.MinIO
	id := uuid.NewString()
	h.exec(fmt.Sprintf("BACKUP DATABASE %s TO S3('%s', '%s', '%s') SETTINGS id = '%s' ASYNC", database, m.URL(folder), m.AccessKey, m.SecretKey, id))
	return id
}

// awaitRawBackup polls system.backups as a person's script would, until
// the backup id is created.
func (h *harness) awaitRawBackup(id string) {
	for {
		var status proto.ColStr
		if err := h.ch.Do(h.ctx, ch.Query{Body: "SELECT toString(status) FROM system.backups WHERE id = '" + id + "'",
			Result: proto.ResultColumn{Data: &status}}); err != nil {
			h.t.Fatal(err)
		}
		switch {
		case status.Rows() == 1 && status.Row(0) == "BACKUP_CREATED":
			return
		case status.Rows() == 1 && status.Row(0) == "BACKUP_FAILED":
			h.t.Fatal("raw backup failed")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rawBackupsTogether backs up every node's shard by hand at once (each
// BACKUP … ASYNC sent, then each awaited): what the three engines take
// when they share the machine's cores, as a set's backups do.
func (b *clusterBed) rawBackupsTogether(database, folder string) time.Duration {
	start := time.Now()
	ids := make([]string, len(b.nodes))
	for i, h := range b.nodes {
		ids[i] = h.startRawBackup(database, fmt.Sprintf("%s%d/", folder, i))
	}
	for i, h := range b.nodes {
		h.awaitRawBackup(ids[i])
	}
	return time.Since(start)
}

// benchClusterPickup: insert → first queued and running rows of checks
// (which a cluster node runs on its own shard) on one node.
func (h *harness) benchClusterPickup(t *testing.T, node, n int) {
	var ids []string
	for i := 0; i < n; i++ {
		ids = append(ids, h.request(h.ch, "action, database", "'check', 'shop'"))
		time.Sleep(time.Duration(50+37*i%200) * time.Millisecond) // arrivals at spread phases of the poll
	}
	for _, id := range ids {
		h.waitState(id, 2*time.Minute, "succeeded", "failed", "rejected")
	}
	for _, state := range []string{"queued", "running"} {
		q := fmt.Sprintf(`SELECT toUInt64(quantileExact(0.5)(d)) * 1000000 + toUInt64(quantileExact(0.99)(d)) FROM (
			SELECT toUnixTimestamp64Milli(min(l.at)) - toUnixTimestamp64Milli(any(r.requested_at)) AS d
			FROM clickvault.requests AS r JOIN clickvault.request_log AS l ON l.request_id = r.id
			WHERE l.state = '%s' AND r.action = 'check' GROUP BY r.id)`, state)
		v := h.count(q)
		report(t, fmt.Sprintf("cluster/pickup/node%d/%s", node, state), "p50 %d ms, p99 %d ms over %d check requests", v/1000000, v%1000000, n)
	}
}
