//go:build bench

package main

// Benchmarks of what users care about, on the test bed: `go tool task bench`.
// Each prints a line "BENCH name: figures" that docs/benchmarks.md quotes.
// They are tests with the bench tag (not testing.B): each measures one
// scenario once, side by side with its baseline, and is too slow to repeat.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar"
)

func report(t *testing.T, name, format string, args ...any) {
	line := fmt.Sprintf("BENCH %s: %s", name, fmt.Sprintf(format, args...))
	t.Log(line)
	fmt.Println(line)
}

// TestBenchPickupLatency: insert → first queued and running rows, p50 and
// p99 over 200 requests, with the default poll interval (1 s) and 500 ms.
func TestBenchPickupLatency(t *testing.T) {
	for _, poll := range []string{"1s", "500ms"} {
		t.Run(poll, func(t *testing.T) { benchPickup(t, poll) })
	}
}

func benchPickup(t *testing.T, poll string) {
	h, _ := newSidecarHarness(t, 10, "poll_interval = \""+poll+"\"\n")
	n := envInt("CLICKVAULT_BENCH_REQUESTS", 200)
	var ids []string
	for i := 0; i < n; i++ {
		ids = append(ids, h.request(h.ch, "action, database, dry_run", "'cleanup', 'shop', true"))
		time.Sleep(time.Duration(50+rand.IntN(200)) * time.Millisecond) // arrivals at random phases of the poll
	}
	for _, id := range ids {
		h.waitState(id, 2*time.Minute, "succeeded", "failed", "rejected")
	}
	for _, state := range []string{"queued", "running"} {
		q := fmt.Sprintf(`SELECT toUInt64(quantileExact(0.5)(d)) * 1000000 + toUInt64(quantileExact(0.99)(d)) FROM (
			SELECT toUnixTimestamp64Milli(min(l.at)) - toUnixTimestamp64Milli(any(r.requested_at)) AS d
			FROM clickvault.requests AS r JOIN clickvault.request_log AS l ON l.request_id = r.id
			WHERE l.state = '%s' GROUP BY r.id)`, state)
		v := h.count(q)
		report(t, "pickup/"+state+"/"+poll, "p50 %d ms, p99 %d ms over %d requests (poll_interval %s)", v/1000000, v%1000000, n, poll)
	}
}

// bigTable fills big.t with about rows × 56 bytes of uncompressed data.
func (h *harness) bigTable(rows int) {
	h.exec("CREATE DATABASE IF NOT EXISTS big")
	h.exec("CREATE TABLE big.t (id UInt64, at DateTime, payload String) ENGINE = MergeTree ORDER BY id")
	h.exec(fmt.Sprintf(`INSERT INTO big.t SELECT number, toDateTime('2026-01-01 00:00:00') + number,
		concat(hex(sipHash64(number)), '-', hex(sipHash64(number + 1)), '-', toString(number)) FROM numbers(%d)`, rows))
}

// rawBackup is the baseline: BACKUP … ASYNC and polling system.backups by
// hand every 100 ms. It returns the wall time and the engine's own
// (start_time to end_time).
func (h *harness) rawBackup(folder string) (wall, engine time.Duration) {
	m := h.bed.MinIO
	id := uuid.NewString()
	start := time.Now()
	h.exec(fmt.Sprintf("BACKUP DATABASE big TO S3('%s', '%s', '%s') SETTINGS id = '%s' ASYNC", m.URL(folder), m.AccessKey, m.SecretKey, id))
	for {
		var status proto.ColStr
		if err := h.ch.Do(h.ctx, ch.Query{Body: "SELECT toString(status) FROM system.backups WHERE id = '" + id + "'",
			Result: proto.ResultColumn{Data: &status}}); err != nil {
			h.t.Fatal(err)
		}
		if status.Rows() == 1 && status.Row(0) == "BACKUP_CREATED" {
			wall = time.Since(start)
			break
		}
		if status.Rows() == 1 && status.Row(0) == "BACKUP_FAILED" {
			h.t.Fatal("raw backup failed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	us := h.count("SELECT toUInt64(dateDiff('microsecond', start_time, end_time)) FROM system.backups WHERE id = '" + id + "'")
	return wall, time.Duration(us) * time.Microsecond
}

// TestBenchOrchestrationOverhead: request → succeeded through the sidecar,
// divided by raw BACKUP ASYNC + polling, for 1 GB of data (uncompressed;
// about 0.55 GB on disk and in S3).
func TestBenchOrchestrationOverhead(t *testing.T) {
	h := newHarnessWith(t, benchUsers)
	h.bigTable(envInt("CLICKVAULT_BENCH_ROWS", 18_000_000))
	// One part set for every round, on disk: no merge or writeback of the
	// table runs under a measured backup.
	h.exec("OPTIMIZE TABLE big.t FINAL")
	syscall.Sync()
	onDisk := h.count("SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'big' AND active")
	uncompressed := h.count("SELECT sum(data_uncompressed_bytes) FROM system.parts WHERE database = 'big' AND active")
	addr := freeAddr(t)
	// Retention keeps one chain, so each round's cleanup leaves MinIO as
	// full as the last: flushing gigabytes of old backups to disk would
	// slow some rounds and not others.
	h.startSidecar(h.sidecarConfig(addr, "[retention]\nkeep_full_backups = 1\n"), addr)
	h.overheadRound(-1) // warm-up, not counted
	var raw, engineRaw time.Duration
	var cv phases
	var ratios []float64
	rounds := envInt("CLICKVAULT_BENCH_ROUNDS", 20)
	for round := 0; round < rounds; round++ {
		through, byHand, byHandEngine := h.overheadRound(round)
		raw, engineRaw, cv = raw+byHand, engineRaw+byHandEngine, cv.add(through)
		ratios = append(ratios, through.total().Seconds()/byHand.Seconds())
		t.Logf("round %d: clickvault %v (pickup %v, before %v, engine %v, after %v), by hand %v (engine %v), ratio %.3f", round,
			through.total().Round(time.Millisecond), through.pickup.Round(time.Millisecond), through.before.Round(time.Millisecond),
			through.engine.Round(time.Millisecond), through.after.Round(time.Millisecond),
			byHand.Round(time.Millisecond), byHandEngine.Round(time.Millisecond), ratios[round])
	}
	n := time.Duration(rounds)
	total := cv.total()
	med, low, high := medianCI(ratios)
	report(t, "overhead", "median %.3f per round (95%% CI %.3f–%.3f), mean %.3f ± %.3f standard error, ratio of the means %.3f (running to answer %.3f); clickvault %.2fs, raw %.2fs; %d rounds, full backups of %d MB on disk (%d MB uncompressed)",
		med, low, high, mean(ratios), stdErr(ratios), total.Seconds()/raw.Seconds(), (total-cv.pickup).Seconds()/raw.Seconds(),
		(total / n).Seconds(), (raw / n).Seconds(), rounds, onDisk/1e6, uncompressed/1e6)
	ms := func(d time.Duration) int64 { return (d / n).Milliseconds() }
	report(t, "overhead/phases", "clickvault: pickup %d ms, before the BACKUP %d ms, engine %d ms, after it %d ms; by hand: engine %d ms, after it %d ms (means)",
		ms(cv.pickup), ms(cv.before), ms(cv.engine), ms(cv.after), ms(engineRaw), ms(raw-engineRaw))
}

// overheadRound takes one backup through ClickVault and one by hand, in
// alternating order so neither always runs on the other's leftovers, then
// removes both (a cleanup request; the raw folder directly).
func (h *harness) overheadRound(round int) (through phases, byHand, byHandEngine time.Duration) {
	folder := fmt.Sprintf("raw/%d/", round)
	if round%2 != 0 {
		byHand, byHandEngine = h.rawBackup(folder)
	}
	through = h.backupThroughSidecar()
	if round%2 == 0 {
		byHand, byHandEngine = h.rawBackup(folder)
	}
	h.removeObjects(folder)
	cleanup := h.request(h.ch, "action, database", "'cleanup', 'big'")
	if st := h.waitState(cleanup, 5*time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" {
		h.t.Fatalf("cleanup after round %d: %+v", round, st)
	}
	return through, byHand, byHandEngine
}

// waitForRequest waits for the notification of the request's end, which
// the sidecar sends just before its answer.
func (r *hookReceiver) waitForRequest(id string, within time.Duration) {
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		r.mu.Lock()
		seen := slices.ContainsFunc(r.events, func(e sidecar.Event) bool { return e.RequestID == id })
		r.mu.Unlock()
		if seen {
			return
		}
	}
}

// phases of one backup through the sidecar, by the timestamps of its rows
// and of ClickHouse's own operation.
type phases struct{ pickup, before, engine, after time.Duration }

func (p phases) add(q phases) phases {
	return phases{p.pickup + q.pickup, p.before + q.before, p.engine + q.engine, p.after + q.after}
}

func (p phases) total() time.Duration { return p.pickup + p.before + p.engine + p.after }

// backupThroughSidecar inserts a full backup request for big and measures
// it by the rows' own timestamps (requested_at, running, succeeded) and
// system.backups' start and end, so the bench's own waiting adds no lag.
// It waits for the backup's notification rather than querying ClickHouse:
// a query of the bench's would compete with the backup for the two cores,
// and the hand-made baseline has no such extra load.
func (h *harness) backupThroughSidecar() phases {
	id := h.request(h.ch, "action, database, kind", "'backup', 'big', 'full'")
	h.hook.waitForRequest(id, 5*time.Minute) // the backup's event: no query competes with the backup
	st := h.waitState(id, time.Minute, "succeeded", "failed", "rejected")
	if st.state != "succeeded" {
		h.t.Fatalf("clickvault backup: %+v", st)
	}
	times := fmt.Sprintf(`WITH
		(SELECT toUnixTimestamp64Micro(requested_at) FROM clickvault.requests WHERE id = '%[1]s') AS requested,
		(SELECT minIf(toUnixTimestamp64Micro(at), state = 'running') FROM clickvault.request_log WHERE request_id = '%[1]s') AS running,
		(SELECT maxIf(toUnixTimestamp64Micro(at), state = 'succeeded') FROM clickvault.request_log WHERE request_id = '%[1]s') AS answered,
		(SELECT toUnixTimestamp64Micro(start_time) FROM system.backups WHERE name LIKE '%%/%[2]s/%%') AS started,
		(SELECT toUnixTimestamp64Micro(end_time) FROM system.backups WHERE name LIKE '%%/%[2]s/%%') AS ended
		SELECT toUInt64(`, id, st.backup)
	span := func(from, to string) time.Duration {
		return time.Duration(h.count(times+"assumeNotNull("+to+" - "+from+"))")) * time.Microsecond
	}
	return phases{pickup: span("requested", "running"), before: span("running", "started"),
		engine: span("started", "ended"), after: span("ended", "answered")}
}

// TestBenchIncrementalCost: bytes an incremental writes after 1% new rows,
// relative to the bytes of the new parts.
func TestBenchIncrementalCost(t *testing.T) {
	h := newHarnessWith(t, benchUsers)
	rows := envInt("CLICKVAULT_BENCH_ROWS", 18_000_000) / 4
	h.bigTable(rows)
	h.exec("OPTIMIZE TABLE big.t FINAL")
	h.exec("SYSTEM STOP MERGES big.t") // so the new parts stay new parts
	h.mustRun("backup", "--database", "big", "--full")
	before := h.count("SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'big' AND active")
	h.exec(fmt.Sprintf("INSERT INTO big.t SELECT number, now(), concat('new-', toString(number)) FROM numbers(%d, %d)", rows, rows/100))
	after := h.count("SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'big' AND active")
	h.mustRun("backup", "--database", "big")
	var written int64
	objects, err := h.bed.MinIO.Keys(h.ctx, "cv/test/big/incremental/")
	if err != nil {
		t.Fatal(err)
	}
	sizes := h.objectSizes("cv/test/big/incremental/")
	for _, k := range objects {
		written += sizes[k]
	}
	newParts := after - before
	report(t, "incremental", "%.2f (%d bytes written to S3 for %d bytes of new parts; 1%% new rows on %d)",
		float64(written)/float64(newParts), written, newParts, rows)
}

// TestBenchRestoreByDepth: restore time of a chain's newest backup at
// depth 1, 10 and 50, relative to depth 1.
func TestBenchRestoreByDepth(t *testing.T) {
	h := newHarnessWith(t, benchUsers)
	h.bigTable(envInt("CLICKVAULT_BENCH_ROWS", 18_000_000) / 20)
	names := []string{}
	for i := 0; i < 50; i++ {
		if i > 0 {
			h.exec(fmt.Sprintf("INSERT INTO big.t SELECT number, now(), 'more' FROM numbers(%d, 1000)", 1_000_000_000+i*1000))
		}
		h.mustRun("backup", "--database", "big")
		chain := h.listDatabase("big")
		names = append(names, chain[0].Backups[len(chain[0].Backups)-1].Name)
	}
	var base time.Duration
	for _, depth := range []int{1, 10, 50} {
		start := time.Now()
		h.mustRun("restore", "--database", "big", "--backup", names[depth-1], "--target", fmt.Sprintf("depth_%d", depth))
		took := time.Since(start)
		if depth == 1 {
			base = took
		}
		report(t, fmt.Sprintf("restore/depth-%d", depth), "%.2f× depth 1 (%.2fs)", took.Seconds()/base.Seconds(), took.Seconds())
	}
}

// benchUsers are the sidecar tests' users, with the sidecar's user also
// granted BACKUP on the benchmarks' database, as an operator adds a line to
// grants.sql for each database ClickVault backs up.
var benchUsers = sidecarUsersWith(map[string][]string{sidecarUser: {"BACKUP ON big.*"}})
