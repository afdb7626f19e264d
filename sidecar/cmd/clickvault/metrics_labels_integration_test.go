package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
)

// TestMetricLabelsStayBounded: a requester with only INSERT on requests
// writes junk actions by the hundred in one INSERT … SELECT, and one with
// BACKUP on databases the sidecar is not configured for backs them up.
// /metrics keeps a handful of series: junk actions are "other", and so
// are the unconfigured databases.
func TestMetricLabelsStayBounded(t *testing.T) {
	const junk, extra = 300, 3
	// An operator may grant the sidecar more than it is configured for.
	h := newHarnessWith(t, sidecarUsersWith(map[string][]string{"eve": {"BACKUP, SELECT ON side_*.*"},
		sidecarUser: {"BACKUP ON side_*.*"}}))
	h.createShop(10)
	for i := range extra {
		h.exec(fmt.Sprintf("CREATE DATABASE side_%d", i))
		h.exec(fmt.Sprintf("CREATE TABLE side_%d.t (id UInt64) ENGINE = MergeTree ORDER BY id", i))
		h.exec(fmt.Sprintf("INSERT INTO side_%d.t SELECT number FROM numbers(10)", i))
	}
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, ""), addr)
	q := fmt.Sprintf(`INSERT INTO clickvault.requests (id, action, database)
		SELECT generateUUIDv4(), 'junk_' || toString(number), 'shop' FROM numbers(%d)`, junk)
	if err := h.as("mallory").Do(h.ctx, ch.Query{Body: q}); err != nil {
		t.Fatalf("insert junk requests: %v", err)
	}
	eve := h.as("eve")
	var ids []string
	for i := range extra {
		ids = append(ids, h.request(eve, "action, database", fmt.Sprintf("'backup', 'side_%d'", i)))
	}
	for _, id := range ids {
		if st := h.waitState(id, 2*time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" {
			t.Fatalf("eve's backup of an unconfigured database: %s %q", st.state, st.message)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for h.count("SELECT count() FROM clickvault.request_log WHERE state = 'rejected' AND startsWith(action, 'junk_')") < junk {
		if time.Now().After(deadline) {
			t.Fatalf("the junk requests were not all rejected within 2 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	series := scrapeClickVault(t, "http://"+addr)
	if len(series) > 60 {
		t.Errorf("%d junk requests and %d unconfigured databases made %d clickvault series, want a handful", junk, extra, len(series))
	}
	text := strings.Join(series, "\n")
	for _, bad := range []string{`action="junk_`, `database="side_`} {
		if strings.Contains(text, bad) {
			t.Errorf("a label carries request data (%s…):\n%.2000s", bad, text)
		}
	}
	for _, want := range []string{`clickvault_requests_total{action="other",state="rejected"}`,
		`clickvault_backups_total{database="other",kind="full",result="success"}`} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s:\n%.2000s", want, text)
		}
	}
}

// scrapeClickVault returns the clickvault_ sample lines of /metrics.
func scrapeClickVault(t *testing.T, base string) []string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "clickvault_") {
			out = append(out, line)
		}
	}
	return out
}
