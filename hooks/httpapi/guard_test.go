package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clickvault/clickvault/sidecar/control"
)

const (
	writeSecret = "write-token-0123456789"
	readSecret  = "read-token-0123456789"
)

// queueSpy is a control plane that records the requests queued through it
// and has nothing else to show.
type queueSpy struct {
	control.ControlPlane
	mu     sync.Mutex
	queued []control.Request
}

func (q *queueSpy) InsertRequest(_ context.Context, r control.Request) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queued = append(q.queued, r)
	return "00000000-0000-0000-0000-000000000001", nil
}

func (q *queueSpy) ActiveRequests(context.Context, int) ([]control.RequestStatus, error) {
	return nil, nil
}

func (q *queueSpy) CatalogRows(context.Context, string) ([]control.CatalogRow, error) {
	return nil, nil
}

func (q *queueSpy) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queued)
}

func newTestServer(t *testing.T) (*httptest.Server, *queueSpy) {
	spy := &queueSpy{}
	s := New(spy, Options{WriteTokens: []string{writeSecret}, ReadTokens: []string{readSecret}, Databases: []string{"shop"}},
		func(context.Context) error { return nil }, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(s.echo)
	t.Cleanup(srv.Close)
	return srv, spy
}

// send makes one request with the given headers ("Basic" as the value of
// Authorization means Basic credentials with secret as the password).
func send(t *testing.T, srv *httptest.Server, method, path, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if basic, ok := strings.CutPrefix(v, "Basic "); ok && k == "Authorization" {
			req.SetBasicAuth("anyone", basic)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// jsonError fails unless out is a JSON {"error": …} answer.
func jsonError(t *testing.T, what, out string) {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(out), &e); err != nil || e.Error == "" {
		t.Errorf("%s: answer %q is not a JSON error", what, out)
	}
}

// TestBasicOnlyOnStatusPage: a browser's Basic credentials open the status
// page and nothing else; bearer tokens work everywhere.
func TestBasicOnlyOnStatusPage(t *testing.T) {
	srv, spy := newTestServer(t)
	browser := map[string]string{"Authorization": "Basic " + writeSecret, "Sec-Fetch-Site": "same-origin"}
	if code, out := send(t, srv, http.MethodGet, "/", "", browser); code != http.StatusOK || !strings.Contains(out, "<html") {
		t.Fatalf("GET / with Basic credentials from the same origin: %d %.200s", code, out)
	}
	if code, _ := send(t, srv, http.MethodGet, "/", "", map[string]string{"Authorization": "Basic " + readSecret, "Sec-Fetch-Site": "none"}); code != http.StatusOK {
		t.Errorf("GET / typed into the address bar with a read token: %d, want 200", code)
	}
	withJSON := map[string]string{"Authorization": "Basic " + writeSecret, "Content-Type": "application/json"}
	for _, c := range []struct{ method, path, body string }{
		{http.MethodGet, "/v1/backups?database=shop", ""},
		{http.MethodGet, "/v1/requests/x", ""},
		{http.MethodPost, "/v1/cleanup", `{"dry_run":false}`},
		{http.MethodPost, "/v1/backups", `{"database":"shop"}`},
	} {
		code, out := send(t, srv, c.method, c.path, c.body, withJSON)
		if code != http.StatusUnauthorized || !strings.Contains(out, "Basic") {
			t.Errorf("%s %s with Basic credentials: %d %s, want 401 naming Basic", c.method, c.path, code, out)
		}
		jsonError(t, c.path, out)
	}
	if n := spy.count(); n != 0 {
		t.Fatalf("Basic credentials queued %d requests", n)
	}
	bearer := map[string]string{"Authorization": "Bearer " + writeSecret, "Content-Type": "application/json; charset=utf-8"}
	if code, out := send(t, srv, http.MethodPost, "/v1/cleanup", `{"dry_run":true}`, bearer); code != http.StatusAccepted {
		t.Fatalf("POST /v1/cleanup with a bearer token and JSON: %d %s", code, out)
	}
	if code, _ := send(t, srv, http.MethodGet, "/", "", map[string]string{"Authorization": "Bearer " + readSecret}); code != http.StatusOK {
		t.Errorf("GET / with a bearer token: %d, want 200", code)
	}
}

// TestWritesNeedJSON: a write whose Content-Type is not application/json is
// refused with 415 before its body is read; a form a page on another site
// could send is among them.
func TestWritesNeedJSON(t *testing.T) {
	srv, spy := newTestServer(t)
	for _, ct := range []string{"", "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
		"multipart/form-data; boundary=x", "application/jsonx", "application/json-seq", "application/json; charset"} {
		h := map[string]string{"Authorization": "Bearer " + writeSecret}
		if ct != "" {
			h["Content-Type"] = ct
		}
		code, out := send(t, srv, http.MethodPost, "/v1/cleanup", `{"dry_run":false}`, h)
		if code != http.StatusUnsupportedMediaType {
			t.Errorf("POST with Content-Type %q: %d %s, want 415", ct, code, out)
		}
		jsonError(t, ct, out)
	}
	if n := spy.count(); n != 0 {
		t.Fatalf("writes without JSON queued %d requests", n)
	}
	for _, ct := range []string{"application/json", "Application/JSON", "application/json; charset=utf-8"} {
		h := map[string]string{"Authorization": "Bearer " + writeSecret, "Content-Type": ct}
		if code, out := send(t, srv, http.MethodPost, "/v1/backups", `{"database":"shop"}`, h); code != http.StatusAccepted {
			t.Errorf("POST with Content-Type %q: %d %s, want 202", ct, code, out)
		}
	}
}

// TestCrossSiteRefused: what a browser marks as coming from another site
// is refused on every route, writes and reads, with a valid token too;
// non-browser clients (no such headers) and same-origin pages pass.
func TestCrossSiteRefused(t *testing.T) {
	srv, spy := newTestServer(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	write := func(extra map[string]string) map[string]string {
		h := map[string]string{"Authorization": "Bearer " + writeSecret, "Content-Type": "application/json"}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	for _, bad := range []map[string]string{
		{"Origin": "https://evil.example"},
		{"Origin": "null"},
		{"Origin": "http://" + host + ".evil.example"},
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"},
		{"Sec-Fetch-Site": "cross-site", "Origin": srv.URL},
		{"Sec-Fetch-Site": "same-origin", "Origin": "https://evil.example"},
	} {
		code, out := send(t, srv, http.MethodPost, "/v1/cleanup", `{"dry_run":false}`, write(bad))
		if code != http.StatusForbidden || !strings.Contains(out, "cross-site") {
			t.Errorf("POST with %v: %d %s, want 403", bad, code, out)
		}
		jsonError(t, "cross-site", out)
		for _, path := range []string{"/", "/v1/backups?database=shop"} {
			h := map[string]string{"Authorization": "Bearer " + readSecret}
			for k, v := range bad {
				h[k] = v
			}
			if code, _ := send(t, srv, http.MethodGet, path, "", h); code != http.StatusForbidden {
				t.Errorf("GET %s with %v: %d, want 403", path, bad, code)
			}
		}
	}
	if n := spy.count(); n != 0 {
		t.Fatalf("cross-site requests queued %d requests", n)
	}
	for _, good := range []map[string]string{
		{},
		{"Origin": srv.URL, "Sec-Fetch-Site": "same-origin"},
		{"Origin": "https://" + host}, // behind a TLS-terminating proxy
		{"Sec-Fetch-Site": "none"},
	} {
		if code, out := send(t, srv, http.MethodPost, "/v1/cleanup", `{"dry_run":true}`, write(good)); code != http.StatusAccepted {
			t.Errorf("POST with %v: %d %s, want 202", good, code, out)
		}
	}
}
