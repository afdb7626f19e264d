//go:build bench

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/hooks/httpapi"
	"github.com/clickvault/clickvault/sidecar/config"
)

// TestBenchManyDatabases: `clickvault backup` of 100 databases of one
// 20,000-row table each, beside the same backups by hand, in one run:
// BACKUP … TO S3 one after the other, and BACKUP … ASYNC at clickvault's
// default parallelism then waiting for all. clickvault runs with
// backup.parallel_databases 1 (against the sequential figure) and with the
// default (against the ASYNC one), each a full of every database. Then one
// more run of it through a counting S3 proxy gives the S3 requests and
// ClickHouse queries one database costs.
func TestBenchManyDatabases(t *testing.T) {
	n := envInt("CLICKVAULT_BENCH_DATABASES", 100)
	rows := envInt("CLICKVAULT_BENCH_ROWS", 20_000)
	dbs := make([]string, n)
	grants := make([]string, n)
	for i := range dbs {
		dbs[i] = fmt.Sprintf("tenant_%04d", i)
		grants[i] = "BACKUP ON " + dbs[i] + ".*"
	}
	h := newHarnessWith(t, sidecarUsersWith(map[string][]string{sidecarUser: grants}))
	// Longer than the harness's 10 minutes: on a loaded machine the runs
	// alone took that long.
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	t.Cleanup(cancel)
	h.ctx = ctx
	for _, db := range dbs {
		h.exec("CREATE DATABASE " + db)
		h.exec("CREATE TABLE " + db + ".events (id UInt64, at DateTime, payload String) ENGINE = MergeTree ORDER BY id")
		h.exec(fmt.Sprintf("INSERT INTO %s.events SELECT number, toDateTime('2026-01-01 00:00:00') + number, toString(sipHash64(number)) FROM numbers(%d)", db, rows))
	}
	syscall.Sync()
	if sweep := os.Getenv("CLICKVAULT_BENCH_PARALLEL_SWEEP"); sweep != "" {
		h.parallelSweep(dbs, sweep)
		return
	}
	parallel := config.DefaultParallelDatabases
	sequential := h.byHandSequential(dbs)
	one := h.timedBackupRound("", dbs, 1, nil)
	chBefore, minioBefore := cpuTicks(t, h.bed.ClickHouse.PID()), cpuTicks(t, h.bed.MinIO.PID())
	async := h.byHandAsync(dbs, parallel)
	report(t, "databases/async-cpu", "CPU by hand ASYNC: ClickHouse %.2fs, MinIO %.2fs",
		float64(cpuTicks(t, h.bed.ClickHouse.PID())-chBefore)/100, float64(cpuTicks(t, h.bed.MinIO.PID())-minioBefore)/100)
	many := h.timedBackupRound("", dbs, parallel, nil)
	report(t, "databases/sequential", "clickvault at parallelism 1 %.2fs, by hand one after the other %.2fs: %.2f× (goal ≤ 1.1×); %d databases of %d rows",
		one.wall.Seconds(), sequential.Seconds(), one.wall.Seconds()/sequential.Seconds(), n, rows)
	report(t, "databases/parallel", "clickvault at parallelism %d %.2fs, by hand ASYNC %d at a time %.2fs: %.2f× (goal ≤ 1.2×); peak RSS %.1f MB",
		parallel, many.wall.Seconds(), parallel, async.Seconds(), many.wall.Seconds()/async.Seconds(), float64(many.maxRSSKB)/1024)
	proxy := newS3Proxy(t, h.bed.MinIO.Endpoint)
	shapes := proxy.countShapes()
	h.reportRequests("databases/requests", n, h.timedBackupRound("", dbs, parallel, proxy), proxy, shapes)
	h.scheduledRound(dbs, proxy, shapes).report(t, parallel, async, n)
	// An earlier build, for the figures before a change: its round is
	// timed and counted the same way (it knows no parallel_databases).
	if before := os.Getenv("CLICKVAULT_BENCH_BEFORE"); before != "" {
		old := h.timedBackupRound(before, dbs, 0, nil)
		report(t, "databases/before", "%s: %.2fs (%.2f× sequential by hand)", before, old.wall.Seconds(), old.wall.Seconds()/sequential.Seconds())
		h.reportRequests("databases/before-requests", n, h.timedBackupRound(before, dbs, 0, proxy), proxy, shapes)
	}
}

// report reports the round against by hand ASYNC of the same n databases
// at parallel.
func (r servedRound) report(t *testing.T, parallel int, async time.Duration, n int) {
	c := r.requests
	report(t, "databases/serve", "a scheduled round of serve (sidecar.workers 4, parallel_databases %d) %.2fs: %.2f× by hand ASYNC; "+
		"S3 requests per database %.1f (%d LIST, %d GET, %d PUT, %d DELETE in all, schedule and catalog mirror included); sidecar RSS %.1f MB",
		parallel, r.took.Seconds(), r.took.Seconds()/async.Seconds(), float64(c["LIST"]+c["GET"]+c["HEAD"]+c["PUT"]+c["DELETE"]+c["POST"])/float64(n),
		c["LIST"], c["GET"], c["PUT"], c["DELETE"]+c["POST"], float64(r.rssKB)/1024)
	report(t, "databases/serve-timeline", "%s", r.timeline)
	report(t, "databases/serve-cpu", "CPU in the round: ClickHouse %.2fs, MinIO %.2fs, the sidecar %.2fs; ClickHouse ran %s",
		float64(r.cpu[0])/100, float64(r.cpu[1])/100, float64(r.cpu[2])/100, r.events)
	report(t, "databases/serve-requests", "S3 requests per database by object:%s", r.shapes)
	report(t, "databases/serve-queries", "the sidecar's commonest queries in the round: %s", r.queries)
	report(t, "databases/idle", "serve idle %s after its round: RSS %.1f MB (goal < 60 MB); the status page in Chromium, first database shown: "+
		"page 1 in %.2fs, the last page (%d) in %.2fs (goal < 2 s)", idleAfterRound, float64(r.idleRSSKB)/1024,
		r.firstPage.Seconds(), r.lastPageN, r.lastPage.Seconds())
}

// idleAfterRound is how long serve idles after its round before its RSS is
// read again: past the round's last catalog mirror and a heartbeat or two.
const idleAfterRound = 30 * time.Second

// servedRound is what a scheduled round of serve measured.
type servedRound struct {
	took                time.Duration  // ready → the last backup request's answer
	requests            map[string]int // S3 requests in the round, by kind
	rssKB, idleRSSKB    int            // at the round's end, and idleAfterRound later
	firstPage, lastPage time.Duration  // the status page's first and last page, loaded in Chromium
	lastPageN           int
	timeline            string // where the round's time went (roundTimeline)
	shapes              string // the S3 requests per database by kind and object (shapeCounts.top)
	queries             string // the sidecar's commonest logged queries in the round (queryKinds)
	cpu                 [3]int // CPU ticks (1/100 s) in the round of ClickHouse, MinIO and the sidecar
	events              string // ClickHouse's queries (logged or not) and merges in the round
}

// scheduledRound starts `clickvault serve` backing up dbs every hour under
// a prefix of its own (so every database is due at once), through proxy,
// and measures the round, then serve idle: its RSS and its status page.
func (h *harness) scheduledRound(dbs []string, proxy *s3Proxy, shapes *shapeCounts) servedRound {
	browser := chromiumPath(h.t)
	body := strings.Replace(h.readConfig(), `database = "shop"`, `databases = ["`+strings.Join(dbs, `", "`)+`"]`, 1)
	body = strings.Replace(body, `prefix = "cv/test"`, `prefix = "cv/serve"`, 1)
	body = strings.Replace(body, `endpoint = "`+h.bed.MinIO.Endpoint+`"`,
		`endpoint = "`+proxy.url+`"`+"\nclickhouse_endpoint = \""+h.bed.MinIO.Endpoint+`"`, 1)
	addr := freeAddr(h.t)
	cfg := h.config + ".serve"
	h.writeFile(cfg, body+fmt.Sprintf("\n[schedule]\nincremental_every = \"1h\"\ncheck_every = \"\"\n[sidecar]\nlisten = %q\nread_tokens = [%q]\n", addr, readToken))
	h.exec("SYSTEM FLUSH LOGS query_log")
	since := h.count("SELECT toUInt64(toUnixTimestamp64Micro(now64(6)))")
	sc := h.startSidecar(cfg, addr)
	defer sc.kill()
	pids := [3]int{h.bed.ClickHouse.PID(), h.bed.MinIO.PID(), sc.cmd.Process.Pid}
	var cpuBefore [3]int
	for i, pid := range pids {
		cpuBefore[i] = cpuTicks(h.t, pid)
	}
	eventsBefore := h.serverEvents()
	ready := time.Now()
	proxy.reset()
	shapes.top(0, 1) // forgets what serve's start cost before it was ready
	completed := "SELECT count() FROM clickvault.request_status WHERE action = 'backup' AND state = 'succeeded'"
	deadline := time.Now().Add(20 * time.Minute)
	for h.count(completed) < uint64(len(dbs)) {
		if time.Now().After(deadline) {
			h.t.Fatalf("the scheduled round answered %d of %d backups succeeded in 20 minutes", h.count(completed), len(dbs))
		}
		time.Sleep(500 * time.Millisecond) // a bench's spacing: fewer reads compete with the round
	}
	out := servedRound{rssKB: rssKB(h.t, sc.cmd.Process.Pid)}
	for i, pid := range pids {
		out.cpu[i] = cpuTicks(h.t, pid) - cpuBefore[i]
	}
	after := h.serverEvents()
	out.events = fmt.Sprintf("%d queries (all users, polls of system.backups included), %d SELECTs, %d INSERTs, %d merges taking %d ms",
		after["Query"]-eventsBefore["Query"], after["SelectQuery"]-eventsBefore["SelectQuery"], after["InsertQuery"]-eventsBefore["InsertQuery"],
		after["Merge"]-eventsBefore["Merge"], after["MergesTimeMilliseconds"]-eventsBefore["MergesTimeMilliseconds"])
	last := h.count("SELECT toUInt64(max(toUnixTimestamp64Milli(at))) FROM clickvault.request_log WHERE action = 'backup' AND state = 'succeeded'")
	out.took = time.UnixMilli(int64(last)).Sub(ready)
	out.timeline = h.roundTimeline(ready)
	out.shapes = shapes.top(30, float64(len(dbs)))
	out.requests = proxy.reset()
	h.exec("SYSTEM FLUSH LOGS query_log")
	out.queries = h.queryCosts(fmt.Sprintf("user = '%s' AND type != 'QueryStart' AND toUnixTimestamp64Micro(event_time_microseconds) >= %d", sidecarUser, since), since)
	time.Sleep(idleAfterRound) // the figure is serve's RSS once idle: nothing to wait on but time
	out.idleRSSKB = rssKB(h.t, sc.cmd.Process.Pid)
	tab := openChromium(h.t, h.ctx, browser)
	out.lastPageN = (len(dbs) + httpapi.StatusPageSize - 1) / httpapi.StatusPageSize
	var err error
	if out.firstPage, err = loadStatusPage(tab, "http://"+addr+"/"); err != nil {
		h.t.Fatal(err)
	}
	if out.lastPage, err = loadStatusPage(tab, fmt.Sprintf("http://%s/?page=%d", addr, out.lastPageN)); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// roundTimeline says where a scheduled round's time went, from
// requests and request_log: when the schedule had made the last request
// (after ready), and the medians and maxima of a request's wait (requested → running) and
// run (running → succeeded).
func (h *harness) roundTimeline(ready time.Time) string {
	const q = `SELECT arrayStringConcat([
		toString(max(made) - %[1]d), toString(quantile(0.5)(started - made)), toString(max(started - made)),
		toString(quantile(0.5)(ended - started)), toString(max(ended - started))], ' ')
	FROM (SELECT l.request_id,
		toUnixTimestamp64Milli(any(r.requested_at)) AS made,
		toUnixTimestamp64Milli(minIf(l.at, l.state = 'running')) AS started,
		toUnixTimestamp64Milli(maxIf(l.at, l.state = 'succeeded')) AS ended
	FROM clickvault.request_log AS l INNER JOIN clickvault.requests AS r ON r.id = l.request_id
	WHERE l.action = 'backup' AND r.requested_at >= fromUnixTimestamp64Milli(%[1]d)
	GROUP BY l.request_id HAVING countIf(l.state = 'succeeded') > 0)`
	v := make([]float64, 5)
	if _, err := fmt.Sscan(h.textAs(h.ch, fmt.Sprintf(q, ready.UnixMilli())), &v[0], &v[1], &v[2], &v[3], &v[4]); err != nil {
		h.t.Fatalf("read the round's timeline: %v", err)
	}
	return fmt.Sprintf("the last request made %.0f ms after ready; a request's wait queued → running median %.0f ms, max %.0f ms; "+
		"its run running → succeeded median %.0f ms, max %.0f ms", v[0], v[1], v[2], v[3], v[4])
}

// reportRequests reports a round's S3 requests (counted by proxy) and
// ClickHouse queries per database.
func (h *harness) reportRequests(name string, n int, f roundFigures, proxy *s3Proxy, shapes *shapeCounts) {
	byObject := shapes.top(20, float64(n))
	c := proxy.reset()
	per := func(v int) float64 { return float64(v) / float64(n) }
	report(h.t, name, "per database: S3 %.2f LIST, %.2f GET, %.2f HEAD, %.2f PUT, %.2f DELETE; ClickHouse %.2f queries, of which %.2f polls of system.backups (not logged) and %.2f logged (%s)",
		per(c["LIST"]), per(c["GET"]), per(c["HEAD"]), per(c["PUT"]), per(c["DELETE"]+c["POST"]), per(f.queries),
		per(f.queries-f.logged), per(f.logged), f.queryKinds)
	report(h.t, name+"-objects", "S3 requests per database by object:%s", byObject)
}

// parallelSweep times `clickvault backup` of dbs at each parallelism of
// the comma-separated list, each beside the same number of by-hand ASYNC
// backups at once, in turn: how the default was chosen.
func (h *harness) parallelSweep(dbs []string, list string) {
	for _, field := range strings.Split(list, ",") {
		parallel, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || parallel < 1 {
			h.t.Fatalf("CLICKVAULT_BENCH_PARALLEL_SWEEP: %q is not a parallelism", field)
		}
		async := h.byHandAsync(dbs, parallel)
		cv := h.timedBackupRound("", dbs, parallel, nil)
		report(h.t, fmt.Sprintf("databases/sweep-%d", parallel), "clickvault %.2fs, by hand ASYNC %.2fs (%.2f×); %d databases",
			cv.wall.Seconds(), async.Seconds(), cv.wall.Seconds()/async.Seconds(), len(dbs))
	}
}

// roundFigures are one `clickvault backup` run's.
type roundFigures struct {
	wall       time.Duration
	maxRSSKB   int64
	queries    int    // queries ClickHouse ran meanwhile (its Query event), all the sidecar's
	logged     int    // those system.query_log shows (the polls of system.backups run with log_queries = 0)
	queryKinds string // the commonest logged, with their counts
}

// timedBackupRound runs `clickvault backup --full` of dbs, parallel at
// once (0: the configuration does not say; through proxy when not nil),
// and measures it; bin is the binary ("": this source's).
func (h *harness) timedBackupRound(bin string, dbs []string, parallel int, proxy *s3Proxy) roundFigures {
	h.t.Helper()
	body := strings.Replace(h.readConfig(), `database = "shop"`, `databases = ["`+strings.Join(dbs, `", "`)+`"]`, 1)
	if proxy != nil { // ClickVault's requests go through it, ClickHouse's do not
		body = strings.Replace(body, `endpoint = "`+h.bed.MinIO.Endpoint+`"`,
			`endpoint = "`+proxy.url+`"`+"\nclickhouse_endpoint = \""+h.bed.MinIO.Endpoint+`"`, 1)
	}
	cfg := h.config + fmt.Sprintf(".round%d.%t", parallel, proxy != nil) // one file per shape, rewritten each run
	if parallel > 0 {
		body += fmt.Sprintf("\n[backup]\nparallel_databases = %d\n", parallel)
	}
	h.writeFile(cfg, body)
	h.exec("SYSTEM FLUSH LOGS query_log")
	since := h.count("SELECT toUInt64(toUnixTimestamp64Micro(now64(6)))")
	queriesBefore := h.count("SELECT value FROM system.events WHERE event = 'Query'")
	if bin == "" {
		bin = clickvaultBinary(h.t)
	}
	// bin is this source's build, or the earlier build the person running
	// the bench named (CLICKVAULT_BENCH_BEFORE) to compare with.
	cmd := exec.CommandContext(h.ctx, bin, "-c", cfg, "backup", "--full") //nolint:gosec // G702: the bench runs the binary its operator names, as a shell would

	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	f := roundFigures{wall: time.Since(start)}
	if err != nil {
		h.t.Fatalf("clickvault backup of %d databases: %v\n%s", len(dbs), err, tailString(stderr.String(), 3000))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		f.maxRSSKB = ru.Maxrss
	}
	// The read counts itself: one query more than the run's.
	f.queries = int(h.count("SELECT value FROM system.events WHERE event = 'Query'") - queriesBefore - 1)
	h.exec("SYSTEM FLUSH LOGS query_log")
	where := fmt.Sprintf("user = '%s' AND type != 'QueryStart' AND toUnixTimestamp64Micro(event_time_microseconds) >= %d", sidecarUser, since)
	f.logged = int(h.count("SELECT count() FROM system.query_log WHERE " + where))
	f.queryKinds = h.queryKinds(where)
	return f
}

// byHandSequential is the floor of one database after the other:
// BACKUP DATABASE … TO S3 (it returns when the backup is made), each in
// turn, as the sidecar's user.
func (h *harness) byHandSequential(dbs []string) time.Duration {
	c := h.as(sidecarUser)
	m := h.bed.MinIO
	start := time.Now()
	for _, db := range dbs {
		q := fmt.Sprintf("BACKUP DATABASE %s TO S3('%s', '%s', '%s')", db, m.URL("byhand-seq/"+db+"/"), m.AccessKey, m.SecretKey)
		if err := c.Do(h.ctx, ch.Query{Body: q, Result: discardResult(), OnResult: ignoreBlocks}); err != nil {
			h.t.Fatalf("%s: %v", db, err)
		}
	}
	return time.Since(start)
}

// asyncPoll is how often a by-hand ASYNC backup's row of system.backups
// is read: quicker than any of these backups, so the waiting adds little.
const asyncPoll = 20 * time.Millisecond

// byHandAsync sends BACKUP … ASYNC for each database, parallel at once (a
// new one as one ends), reading system.backups until each ends.
func (h *harness) byHandAsync(dbs []string, parallel int) time.Duration {
	m := h.bed.MinIO
	run := "byhand-async-" + uuid.NewString()[:8] // each call its own folders: a BACKUP never overwrites
	next := make(chan string, len(dbs))
	for _, db := range dbs {
		next <- db
	}
	close(next)
	clients := make([]*ch.Client, parallel)
	for i := range clients {
		clients[i] = h.as(sidecarUser)
	}
	start := time.Now()
	g, ctx := errgroup.WithContext(h.ctx)
	for _, c := range clients {
		g.Go(func() error {
			for db := range next {
				id := uuid.NewString()
				q := fmt.Sprintf("BACKUP DATABASE %s TO S3('%s', '%s', '%s') SETTINGS id = '%s' ASYNC",
					db, m.URL(run+"/"+db+"/"), m.AccessKey, m.SecretKey, id)
				if err := c.Do(ctx, ch.Query{Body: q, Result: discardResult(), OnResult: ignoreBlocks}); err != nil {
					return fmt.Errorf("%s: %w", db, err)
				}
				if err := waitBackup(ctx, c, id); err != nil {
					return fmt.Errorf("%s: %w", db, err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		h.t.Fatal(err)
	}
	return time.Since(start)
}

// waitBackup reads id's row of system.backups every asyncPoll until the
// backup is created (or fails: an error).
func waitBackup(ctx context.Context, c *ch.Client, id string) error {
	for {
		var status proto.ColStr
		if err := c.Do(ctx, ch.Query{Body: "SELECT toString(status) FROM system.backups WHERE id = '" + id + "'",
			Result: proto.ResultColumn{Data: &status}}); err != nil {
			return err
		}
		if status.Rows() == 1 {
			switch status.Row(0) {
			case "BACKUP_CREATED":
				return nil
			case "BACKUP_FAILED":
				return fmt.Errorf("backup %s failed", id)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(asyncPoll):
		}
	}
}

func discardResult() proto.Result {
	var discard proto.Results
	return discard.Auto()
}

func ignoreBlocks(context.Context, proto.Block) error { return nil }
