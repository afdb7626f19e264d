package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// TestAttack23OneInsertFloodSlowsEveryone: mallory, who may only insert
// requests, sends one INSERT … SELECT of CLICKVAULT_ATTACK_FLOOD_ROWS
// (default 3,000,000) junk rows — a single statement, one query id. SPEC:
// a flood of rows from one user never starves another user's request.
// alice's honest backup, made right after, must be answered within the
// same 10 s TestFaultRequestFlood allows for 2,000 rows, and so must
// her next one half a minute later.
func TestAttack23OneInsertFloodSlowsEveryone(t *testing.T) {
	rows := envInt("CLICKVAULT_ATTACK_FLOOD_ROWS", 3000000)
	h, _ := newSidecarHarness(t, 10, "")
	flood := fmt.Sprintf("INSERT INTO clickvault.requests (action, database) SELECT 'explode', toString(number) FROM numbers(%d)", rows)
	began := time.Now()
	if err := h.as("mallory").Do(h.ctx, ch.Query{Body: flood}); err != nil {
		t.Fatal(err)
	}
	t.Logf("the flood's INSERT took %s", time.Since(began).Round(time.Millisecond))
	start := time.Now()
	valid := h.request(h.as("alice"), "action, database", "'backup', 'shop'")
	st := h.waitState(valid, 3*time.Minute, "succeeded", "failed", "rejected")
	took := time.Since(start)
	t.Logf("alice's request answered %s (%s) after a flood of %d rows", st.state, took.Round(time.Millisecond), rows)
	if st.state != "succeeded" || took > 10*time.Second {
		t.Errorf("DEFECT: alice's request behind one INSERT of %d junk rows: %s after %s; want succeeded within 10 s",
			rows, st.state, took.Round(time.Millisecond))
	}
	// The flood stays in every poll's read (the last hour of requests):
	// a request made half a minute later is as slow.
	time.Sleep(30 * time.Second)
	start = time.Now()
	again := h.request(h.as("alice"), "action, database", "'backup', 'shop'")
	st = h.waitState(again, 3*time.Minute, "succeeded", "failed", "rejected")
	took = time.Since(start)
	t.Logf("alice's next request, 30 s later: %s after %s", st.state, took.Round(time.Millisecond))
	if took > 10*time.Second {
		t.Errorf("DEFECT: 30 s after the flood alice's request still took %s", took.Round(time.Millisecond))
	}
	h.exec("SYSTEM FLUSH LOGS")
	var ms proto.ColUInt64
	var text proto.ColStr
	if err := h.ch.Do(h.ctx, ch.Query{Body: `SELECT query_duration_ms AS ms, substring(replaceRegexpAll(query, '\\s+', ' '), 1, 90) AS text
		FROM system.query_log WHERE user = 'clickvault' AND type = 'QueryFinish' ORDER BY ms DESC LIMIT 3`,
		Result: proto.Results{{Name: "ms", Data: &ms}, {Name: "text", Data: &text}}}); err == nil {
		for i := 0; i < ms.Rows(); i++ {
			t.Logf("the sidecar's slowest queries: %d ms %s", ms.Row(i), text.Row(i))
		}
	}
	t.Logf("junk rows answered so far: %d of %d",
		h.count("SELECT count() FROM clickvault.request_log WHERE state = 'rejected'"), rows)
}
