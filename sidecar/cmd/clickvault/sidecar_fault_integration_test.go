package main

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/control"
)

// TestSidecarKilledMidBackup: SIGKILL while a backup runs; after a restart
// the request ends succeeded or failed with a reason, and the chain is usable.
func TestSidecarKilledMidBackup(t *testing.T) {
	h, sc := newSidecarHarness(t, 2_000_000, "")
	id := h.request(h.ch, "action, database", "'backup', 'shop'")
	deadline := time.Now().Add(time.Minute)
	for h.status(id).backup == "" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if h.status(id).backup == "" {
		t.Fatalf("the backup never started: %+v", h.status(id))
	}
	sc.kill()
	if st := h.status(id); control.Terminal(control.State(st.state)) {
		t.Logf("the backup ended before the kill (%s); the restart has less to do", st.state)
	}
	h.startSidecar(sc.config, sc.addr)
	st := h.waitState(id, 2*time.Minute, "succeeded", "failed")
	if st.state == "failed" && st.message == "" {
		t.Fatal("failed without a reason")
	}
	t.Logf("after the restart: %s: %s", st.state, st.message)
	// The chain stays usable: the next backup succeeds and restores.
	h.addRows(2_000_000, 10)
	next := h.request(h.ch, "action, database", "'backup', 'shop'")
	if st := h.waitState(next, 2*time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" {
		t.Fatalf("next backup: %+v", st)
	}
	restore := h.request(h.ch, "action, database, target", "'restore', 'shop', 'shop_restored'")
	if st := h.waitState(restore, 2*time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" {
		t.Fatalf("restore after the crash: %+v", st)
	}
	if got := h.count("SELECT count() FROM shop_restored.orders"); got != 2_000_010 {
		t.Fatalf("restored %d rows, want 2000010", got)
	}
}

// TestTwoSidecarsExecuteEachRequestOnce: 20 requests, two sidecars on one
// control table; each request runs exactly once.
func TestTwoSidecarsExecuteEachRequestOnce(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(100)
	a, b := freeAddr(t), freeAddr(t)
	h.startSidecar(h.sidecarConfig(a, "poll_interval = \"200ms\"\n"), a)
	h.startSidecar(h.sidecarConfig(b, "poll_interval = \"200ms\"\n"), b)
	var ids []string
	for i := 0; i < 20; i++ {
		ids = append(ids, h.request(h.ch, "action, database", "'backup', 'shop'"))
	}
	for _, id := range ids {
		if st := h.waitState(id, 3*time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" {
			t.Fatalf("request %s: %+v", id, st)
		}
	}
	for _, id := range ids {
		q := fmt.Sprintf("SELECT count() FROM clickvault.request_log WHERE request_id = '%s' AND state = 'succeeded'", id)
		if n := h.count(q); n != 1 {
			t.Fatalf("request %s answered %d times", id, n)
		}
		q = fmt.Sprintf("SELECT uniqExact(sidecar) FROM clickvault.request_log WHERE request_id = '%s'", id)
		if n := h.count(q); n != 1 {
			t.Fatalf("request %s was handled by %d sidecars", id, n)
		}
	}
	if n := h.count("SELECT count() FROM clickvault.backups FINAL WHERE status = 'completed'"); n != 20 {
		t.Fatalf("%d completed backups for 20 requests", n)
	}
	if depth := h.count("SELECT toUInt64(max(depth)) FROM clickvault.chains"); depth != 20 {
		t.Fatalf("the chain forked: depth %d", depth)
	}
}

// TestHTTPHooks: writes need a token; a queued request lands in the
// requests table; metrics count backups; SIGTERM exits 0.
func TestHTTPHooks(t *testing.T) {
	h, sc := newSidecarHarness(t, 10, "")
	base := "http://" + sc.addr
	body := `{"database": "shop", "kind": "full"}`
	if code, _ := post(t, base+"/v1/backups", "", body); code != http.StatusUnauthorized {
		t.Fatalf("without a token: %d, want 401", code)
	}
	if code, _ := post(t, base+"/v1/backups", "wrong-token-000000", body); code != http.StatusUnauthorized {
		t.Fatalf("with a wrong token: %d, want 401", code)
	}
	if code, out := post(t, base+"/v1/backups", httpToken, `{"database": "shop", "colour": "red"}`); code != http.StatusBadRequest || !strings.Contains(out, "colour") {
		t.Fatalf("unknown field: %d %s", code, out)
	}
	before := metricValue(t, base, `clickvault_backups_total{database="shop",kind="full",result="success"}`)
	code, out := post(t, base+"/v1/backups", httpToken, body)
	if code != http.StatusAccepted {
		t.Fatalf("with a token: %d %s", code, out)
	}
	id := regexp.MustCompile(`"id":"([0-9a-f-]+)"`).FindStringSubmatch(out)[1]
	if n := h.count("SELECT count() FROM clickvault.requests WHERE id = '" + id + "'"); n != 1 {
		t.Fatal("the request is not in clickvault.requests")
	}
	h.waitState(id, time.Minute, "succeeded")
	if _, status := call(t, http.MethodGet, base+"/v1/requests/"+id, httpToken, ""); !strings.Contains(status, `"state":"succeeded"`) {
		t.Fatalf("GET /v1/requests/%s: %s", id, status)
	}
	_, catalog := call(t, http.MethodGet, base+"/v1/backups?database=shop", httpToken, "")
	if !strings.Contains(catalog, `"kind":"full"`) || !strings.Contains(catalog, `"status":"completed"`) {
		t.Fatalf("GET /v1/backups: %s", catalog)
	}
	if after := metricValue(t, base, `clickvault_backups_total{database="shop",kind="full",result="success"}`); after != before+1 {
		t.Fatalf("clickvault_backups_total went from %v to %v", before, after)
	}
	if code := sc.stop(t); code != 0 {
		t.Fatalf("SIGTERM: exit %d, want 0", code)
	}
}

func post(t *testing.T, url, token, body string) (int, string) {
	return call(t, http.MethodPost, url, token, body)
}

// call sends one HTTP request and returns the status code and body.
func call(t *testing.T, method, url, token, body string) (int, string) {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// metricValue reads one sample from /metrics (0 when absent).
func metricValue(t *testing.T, base, sample string) float64 {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	text, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(text), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}
