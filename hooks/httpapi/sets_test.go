package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clickvault/clickvault/sidecar/control"
)

// setsOf answers every database with two sets, the newest partial, and
// remembers the limit it was asked; broken makes it fail.
type setsOf struct {
	limit  int
	broken bool
}

func (f *setsOf) list(_ context.Context, database string, limit int) ([]control.SetSummary, error) {
	f.limit = limit
	if f.broken {
		return nil, errors.New("list the sets of shop: connection refused")
	}
	at := time.Date(2026, 12, 5, 4, 3, 5, 0, time.UTC)
	return []control.SetSummary{
		{ID: "20261205T040305849Z", Database: database, State: "partial", Kind: "full", Shards: []int{1, 2, 3}, RequestedBy: "alice",
			CreatedAt: at, Reasons: map[string]string{"shard-3": "rejected on n3: <b>alice</b> may not BACKUP shop"}},
		{ID: "20261204T040305849Z", Database: database, State: "completed", Kind: "full", Shards: []int{1, 2, 3}, CreatedAt: at},
	}, nil
}

func setsServer(t *testing.T, sets *setsOf) *httptest.Server {
	t.Helper()
	opts := Options{ReadTokens: []string{readSecret}, Databases: []string{"shop"}}
	if sets != nil {
		opts.Sets = sets.list
	}
	s := New(&queueSpy{}, opts, func(context.Context) error { return nil }, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(s.echo)
	t.Cleanup(srv.Close)
	return srv
}

// TestListSets: GET /v1/sets lists a cluster node's newest sets with a
// read token, 20 by default and at most 100; a bad limit or database is
// refused; a single server has none (404); the status page shows them,
// their reasons as text, and says so when the bucket cannot be read.
func TestListSets(t *testing.T) {
	sets := &setsOf{}
	srv := setsServer(t, sets)
	auth := map[string]string{"Authorization": "Bearer " + readSecret}
	code, out := send(t, srv, http.MethodGet, "/v1/sets?database=shop", "", auth)
	var got []control.SetSummary
	if err := json.Unmarshal([]byte(out), &got); code != http.StatusOK || err != nil || len(got) != 2 || got[0].State != "partial" || sets.limit != 20 {
		t.Fatalf("GET /v1/sets: %d %s (limit %d)", code, out, sets.limit)
	}
	for path, want := range map[string]int{"/v1/sets?database=shop&limit=5": http.StatusOK, "/v1/sets?database=shop&limit=101": http.StatusBadRequest,
		"/v1/sets?database=shop&limit=x": http.StatusBadRequest, "/v1/sets?database=other": http.StatusNotFound, "/v1/sets": http.StatusBadRequest} {
		if code, out := send(t, srv, http.MethodGet, path, "", auth); code != want {
			t.Errorf("GET %s: %d %s, want %d", path, code, out, want)
		}
	}
	if code, _ := send(t, srv, http.MethodGet, "/v1/sets?database=shop", "", nil); code != http.StatusUnauthorized {
		t.Errorf("GET /v1/sets without a token: %d", code)
	}
	if code, _ := send(t, setsServer(t, nil), http.MethodGet, "/v1/sets?database=shop", "", auth); code != http.StatusNotFound {
		t.Errorf("GET /v1/sets on a single server: %d, want 404", code)
	}
	_, page := send(t, srv, http.MethodGet, "/", "", auth)
	for _, want := range []string{`<tr class="set" data-set="20261205T040305849Z" data-state="partial">`, "shard-3: rejected on n3: &lt;b&gt;alice"} {
		if !strings.Contains(page, want) {
			t.Errorf("the status page lacks %q", want)
		}
	}
	sets.broken = true
	if _, page := send(t, srv, http.MethodGet, "/", "", auth); !strings.Contains(page, "The sets could not be read: list the sets of shop") {
		t.Errorf("the status page with the bucket down does not say so")
	}
}

// TestRestoreOfOneShardOverHTTP: POST /v1/restores queues its shard with
// the request (the runner admits or refuses it, as a SQL request's); a
// shard the requests table cannot hold (a UInt16) is refused at once.
func TestRestoreOfOneShardOverHTTP(t *testing.T) {
	srv, spy := newTestServer(t)
	auth := map[string]string{"Authorization": "Bearer " + writeSecret, "Content-Type": "application/json"}
	if code, out := send(t, srv, http.MethodPost, "/v1/restores", `{"database":"shop","shard":2}`, auth); code != http.StatusAccepted {
		t.Fatalf("POST /v1/restores with shard 2: %d %s", code, out)
	}
	spy.mu.Lock()
	queued := append([]control.Request(nil), spy.queued...)
	spy.mu.Unlock()
	if len(queued) != 1 || queued[0].Shard != 2 || queued[0].Action != control.ActionRestore {
		t.Fatalf("queued %+v, want a restore of shard 2", queued)
	}
	for _, bad := range []string{`{"shard":-1}`, `{"shard":65536}`, `{"shard":"2"}`} {
		if code, out := send(t, srv, http.MethodPost, "/v1/restores", bad, auth); code != http.StatusBadRequest {
			t.Errorf("POST /v1/restores %s: %d %s, want 400", bad, code, out)
		}
	}
	if spy.count() != 1 {
		t.Errorf("%d requests queued, want 1", spy.count())
	}
}
