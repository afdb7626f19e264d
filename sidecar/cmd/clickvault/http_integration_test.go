package main

import (
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/hooks/httpapi"
)

// TestHTTPReadsAndStrictness: reads need a token too, a read-only token may
// not write, answers stay within the sidecar's databases, a request queued
// over HTTP names its token, and bad input gets a fitting status that
// quotes at most a short prefix of it.
func TestHTTPReadsAndStrictness(t *testing.T) {
	h, sc := newSidecarHarness(t, 10, "")
	base := "http://" + sc.addr
	for _, path := range []string{"/v1/backups?database=shop", "/v1/requests/" + strings.Repeat("0", 36)} {
		if code, _ := call(t, http.MethodGet, base+path, "", ""); code != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %d, want 401", path, code)
		}
	}
	if code, out := call(t, http.MethodGet, base+"/v1/backups?database=shop", readToken, ""); code != http.StatusOK {
		t.Errorf("GET /v1/backups with a read token: %d %s", code, out)
	}
	if code, _ := post(t, base+"/v1/backups", readToken, `{"database":"shop"}`); code != http.StatusForbidden {
		t.Errorf("POST with a read-only token: %d, want 403", code)
	}
	if code, _ := call(t, http.MethodGet, base+"/v1/backups?database=system", readToken, ""); code != http.StatusNotFound {
		t.Errorf("the catalog of a database this sidecar does not back up: %d, want 404", code)
	}
	for _, m := range []string{http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if code, _ := call(t, m, base+"/v1/backups", httpToken, "{}"); code != http.StatusMethodNotAllowed {
			t.Errorf("%s /v1/backups: %d, want 405", m, code)
		}
	}
	if code, out := post(t, base+"/v1/backups", httpToken, `{"database":"shop"} {"database":"other"}`); code != http.StatusBadRequest {
		t.Errorf("two JSON values: %d %s, want 400", code, out)
	}
	if code, _ := post(t, base+"/v1/backups", httpToken, `{"database":"`+strings.Repeat("a", 20<<20)+`"}`); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a 20 MB body: %d, want 413", code)
	}
	// 10 KB reaches the handler (404); 100 KB is past the header limit (431).
	for size, want := range map[int]int{10 << 10: http.StatusNotFound, 100 << 10: http.StatusRequestHeaderFieldsTooLarge} {
		code, out := call(t, http.MethodGet, base+"/v1/requests/"+strings.Repeat("x", size), readToken, "")
		if code != want || len(out) > 300 {
			t.Errorf("GET of a %d-byte id: %d with %d bytes of answer, want %d quoting at most a short prefix", size, code, len(out), want)
		}
	}
	code, out := post(t, base+"/v1/backups", httpToken, `{"database":"shop"}`)
	if code != http.StatusAccepted {
		t.Fatalf("queue a backup: %d %s", code, out)
	}
	id := regexp.MustCompile(`"id":"([0-9a-f-]+)"`).FindStringSubmatch(out)[1]
	h.waitState(id, time.Minute, "succeeded")
	_, status := call(t, http.MethodGet, base+"/v1/requests/"+id, readToken, "")
	if want := `"via":"` + httpapi.TokenName(httpToken) + `"`; !strings.Contains(status, want) || strings.Contains(status, httpToken) {
		t.Errorf("a request queued over HTTP should name its token (%s), never show it: %s", want, status)
	}
}

// TestHTTPDropsSlowHeaders: a client that never finishes its headers is
// dropped after the header timeout instead of holding a connection.
func TestHTTPDropsSlowHeaders(t *testing.T) {
	_, sc := newSidecarHarness(t, 10, "")
	conn, err := net.Dial("tcp", sc.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 512)
	for {
		if _, err := conn.Read(buf); err != nil {
			break // closed by the server (or our deadline, checked below)
		}
	}
	if held := time.Since(start); held > 15*time.Second {
		t.Fatalf("a half-sent header held the connection for %s", held)
	}
}

// TestViaIsTheSidecarsAlone: a SQL user cannot pose as an HTTP token.
func TestViaIsTheSidecarsAlone(t *testing.T) {
	h, _ := newSidecarHarness(t, 10, "")
	id := h.request(h.as("alice"), "action, database, via", "'backup', 'shop', 'http:00000000'")
	if st := h.waitState(id, 30*time.Second, "rejected", "succeeded", "failed"); st.state != "rejected" || !strings.Contains(st.message, "via") {
		t.Fatalf("a SQL request setting via: %s %q, want rejected", st.state, st.message)
	}
}

// TestParallelHTTPRequestsOneAnswerEach: requests posted over HTTP at once
// (valid backups and ones rejected for an unknown kind) each get exactly
// one terminal row, with ClickHouse's server running them in parallel.
func TestParallelHTTPRequestsOneAnswerEach(t *testing.T) {
	h, sc := newSidecarHarness(t, 10, "poll_interval = \"200ms\"\n")
	base := "http://" + sc.addr
	const n = 80
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := `{"database":"shop"}`
			if i%2 == 1 {
				body = `{"database":"shop","kind":"differential"}`
			}
			if code, out := post(t, base+"/v1/backups", httpToken, body); code == http.StatusAccepted {
				ids[i] = regexp.MustCompile(`"id":"([0-9a-f-]+)"`).FindStringSubmatch(out)[1]
			}
		}()
	}
	wg.Wait()
	for i, id := range ids {
		if id == "" {
			t.Fatalf("request %d was not accepted", i)
		}
		h.waitState(id, 3*time.Minute, "succeeded", "failed", "rejected")
	}
	// A barrier instead of a wait: one more request, read by a poll that
	// began after every request above was answered, and answered itself.
	code, out := post(t, base+"/v1/backups", httpToken, `{"database":"shop"}`)
	if code != http.StatusAccepted {
		t.Fatalf("the barrier request: %d %s", code, out)
	}
	h.waitState(regexp.MustCompile(`"id":"([0-9a-f-]+)"`).FindStringSubmatch(out)[1], 3*time.Minute, "succeeded", "failed", "rejected")
	twice := h.count(`SELECT count() FROM (SELECT request_id FROM clickvault.request_log
		WHERE state IN ('succeeded', 'failed', 'rejected', 'cancelled') GROUP BY request_id HAVING count() > 1)`)
	if twice != 0 {
		t.Fatalf("%d of %d requests got more than one terminal row", twice, n)
	}
}
