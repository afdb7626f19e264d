package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// TestAttack23OneInsertFloodSlowsEveryone: mallory, who may only insert
// requests, sends one INSERT … SELECT of CLICKVAULT_ATTACK_FLOOD_ROWS
// (default 200,000; TestFaultOneInsertFloodOfMillions sends 3,000,000)
// junk rows — a single statement, one query id. SPEC: a flood of rows from
// one user never starves another user's request. Before the reads went on
// from where they stopped, every poll read, sorted and joined every row of
// the last hour: after 3,000,000 rows alice's backup took 10-44 s, and the
// junk was answered some 10 rows a second, for hours.
func TestAttack23OneInsertFloodSlowsEveryone(t *testing.T) {
	floodSlowsNoOne(t, "'explode', toString(number)", envInt("CLICKVAULT_ATTACK_FLOOD_ROWS", 200000), 10*time.Second)
}

// TestFloodOfPlausibleRequests: the flood is of rows admission has to look
// at: backups of 100,000 databases (CLICKVAULT_PLAUSIBLE_FLOOD_ROWS) that
// mallory has no right on. Each is refused for the right it lacks, which
// the sidecar reads from ClickHouse's grants.
func TestFloodOfPlausibleRequests(t *testing.T) {
	floodSlowsNoOne(t, "'backup', concat('db', toString(number))", envInt("CLICKVAULT_PLAUSIBLE_FLOOD_ROWS", 100000), 10*time.Second)
}

// Bounds of a flood test, from the measurements (docs/benchmarks.md, under
// a flood), with a wide margin for a busy machine: alice's backup (10
// rows) was answered in 0.8-2.4 s behind 3,000,000 junk rows, and the junk
// was answered at 2,500 rows a second and more.
const (
	floodAnswerWithin = 10 * time.Second
	floodMinRate      = 1000 // junk rows answered a second
)

// floodSlowsNoOne floods the requests table with rows of junk in one
// INSERT as mallory (action and database from the SELECT of numbers(rows)
// in values), and checks that alice's backup is answered within
// floodAnswerWithin right after, and again after a pause; that the junk is
// answered at floodMinRate rows a second at least, each row once, and
// without a claim object in S3.
func floodSlowsNoOne(t *testing.T, values string, rows int, pause time.Duration) {
	h, sc := newSidecarHarness(t, 10, "")
	flood := fmt.Sprintf("INSERT INTO clickvault.requests (action, database) SELECT %s FROM numbers(%d)", values, rows)
	began := time.Now()
	if err := h.as("mallory").Do(h.ctx, ch.Query{Body: flood}); err != nil {
		t.Fatal(err)
	}
	flooded := time.Now()
	t.Logf("the flood's INSERT took %s", flooded.Sub(began).Round(time.Millisecond))
	for i, wait := range []time.Duration{0, pause} {
		time.Sleep(wait)
		start := time.Now()
		id := h.request(h.as("alice"), "action, database", "'backup', 'shop'")
		st := h.waitState(id, 3*time.Minute, "succeeded", "failed", "rejected")
		took := time.Since(start)
		t.Logf("alice's request %d, %s after the flood: %s after %s", i+1, start.Sub(flooded).Round(time.Second), st.state,
			took.Round(time.Millisecond))
		if st.state != "succeeded" || took > floodAnswerWithin {
			t.Errorf("alice's request behind one INSERT of %d junk rows: %s after %s; want succeeded within %s",
				rows, st.state, took.Round(time.Millisecond), floodAnswerWithin)
		}
	}
	answered := h.count("SELECT count() FROM clickvault.request_log WHERE state = 'rejected'")
	rate := float64(answered) / time.Since(flooded).Seconds()
	t.Logf("junk rows answered: %d of %d in %s, %.0f a second; the sidecar's peak RSS %d MB", answered, rows,
		time.Since(flooded).Round(time.Second), rate, sc.maxRSS(t)>>20)
	if answered < uint64(rows) && rate < floodMinRate {
		t.Errorf("the junk is answered %.0f rows a second; want %d at least", rate, floodMinRate)
	}
	twice := h.count(`SELECT count() FROM (SELECT request_id FROM clickvault.request_log
		WHERE state IN ('succeeded', 'failed', 'rejected', 'cancelled') GROUP BY request_id HAVING count() > 1)`)
	if twice != 0 {
		t.Errorf("%d requests got more than one terminal row", twice)
	}
	if keys, err := h.bed.MinIO.Keys(h.ctx, "cv/test/.clickvault/requests/"); err != nil || len(keys) != 2 {
		t.Errorf("claim objects: %d (%v); want alice's two alone", len(keys), err)
	}
	logSidecarQueries(t, h)
}

// logSidecarQueries logs what the sidecar's queries cost, by kind.
func logSidecarQueries(t *testing.T, h *harness) {
	h.exec("SYSTEM FLUSH LOGS")
	var n, avg, top proto.ColUInt64
	var text proto.ColStr
	err := h.ch.Do(h.ctx, ch.Query{Body: `SELECT substring(replaceRegexpAll(query, '\\s+', ' '), 1, 60) AS text, count() AS n,
			toUInt64(avg(query_duration_ms)) AS avg, max(query_duration_ms) AS top
		FROM system.query_log WHERE user = 'clickvault' AND type = 'QueryFinish' GROUP BY text ORDER BY n * avg DESC LIMIT 6`,
		Result: proto.Results{{Name: "text", Data: &text}, {Name: "n", Data: &n}, {Name: "avg", Data: &avg}, {Name: "top", Data: &top}}})
	if err != nil {
		t.Logf("read the query log: %v", err)
		return
	}
	var lines []string
	for i := 0; i < n.Rows(); i++ {
		lines = append(lines, fmt.Sprintf("%6d × avg %4d ms, max %5d ms: %s", n.Row(i), avg.Row(i), top.Row(i), text.Row(i)))
	}
	t.Logf("the sidecar's queries, by total time:\n%s", strings.Join(lines, "\n"))
}
