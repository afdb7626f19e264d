package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
)

// TestFaultRequestFlood: one user inserts a flood of junk requests in one
// INSERT; another user's valid request, made right after, is answered
// within 10 s; no claim object is written for a rejected row; every junk
// row is rejected exactly once; the sidecar's memory stays bounded. The
// default run floods 2,000 rows, `task faults` 20,000
// (CLICKVAULT_FLOOD_ROWS).
func TestFaultRequestFlood(t *testing.T) {
	rows := envInt("CLICKVAULT_FLOOD_ROWS", 2000)
	h, sc := newSidecarHarness(t, 10, "")
	mallory := h.as("mallory")
	flood := fmt.Sprintf("INSERT INTO clickvault.requests (action, database) SELECT 'explode', toString(number) FROM numbers(%d)", rows)
	if err := mallory.Do(h.ctx, ch.Query{Body: flood}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	valid := h.request(h.as("alice"), "action, database", "'backup', 'shop'")
	st := h.waitState(valid, 10*time.Second, "succeeded", "failed", "rejected")
	if st.state != "succeeded" {
		t.Fatalf("alice's request behind %d junk rows: %s %q", rows, st.state, st.message)
	}
	t.Logf("alice's request answered %s after a flood of %d rows", time.Since(start).Round(time.Millisecond), rows)

	deadline := time.Now().Add(5 * time.Minute)
	answered := uint64(0)
	for ; time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if answered = h.count("SELECT count() FROM clickvault.request_status WHERE requested_by = 'mallory' AND state = 'rejected'"); answered == uint64(rows) {
			break
		}
	}
	t.Logf("%d junk rows rejected in %s; sidecar max RSS %d MB", answered, time.Since(start).Round(time.Second), sc.maxRSS(t)>>20)
	if answered != uint64(rows) {
		t.Fatalf("%d of %d junk rows rejected within 5 minutes", answered, rows)
	}
	twice := h.count(`SELECT count() FROM (SELECT request_id FROM clickvault.request_log
		WHERE state IN ('succeeded', 'failed', 'rejected', 'cancelled') GROUP BY request_id HAVING count() > 1)`)
	if twice != 0 {
		t.Fatalf("%d requests got more than one terminal row", twice)
	}
	keys, err := h.bed.MinIO.Keys(h.ctx, "cv/test/.clickvault/requests/")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || !strings.Contains(keys[0], valid) {
		t.Fatalf("claim objects: want only the valid request's, got %d", len(keys))
	}
	if rss := sc.maxRSS(t); rss > 200<<20 {
		t.Fatalf("the sidecar grew to %d MB under the flood", rss>>20)
	}
}

// maxRSS is the sidecar process's peak resident memory (VmHWM).
func (p *sidecarProc) maxRSS(t *testing.T) uint64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
