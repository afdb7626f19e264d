package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clickvault/clickvault/sidecar/control"
)

// catalogsOnly answers the two reads of the status page; any other call
// panics (the embedded interface is nil), so the test sees if the page
// starts reading something else.
type catalogsOnly struct {
	control.ControlPlane
	rows  map[string][]control.CatalogRow
	reads atomic.Int32
}

func (c *catalogsOnly) CatalogRows(_ context.Context, db string) ([]control.CatalogRow, error) {
	c.reads.Add(1)
	return c.rows[db], nil
}

func (c *catalogsOnly) ActiveRequests(context.Context, int) ([]control.RequestStatus, error) {
	return nil, nil
}

// TestStatusPagesManyDatabases: a sidecar of 120 databases shows them 50 to
// a page, in order, each with its own catalog, linked to its neighbours; a
// page that does not exist is refused, naming the pages there are.
func TestStatusPagesManyDatabases(t *testing.T) {
	cp := &catalogsOnly{rows: map[string][]control.CatalogRow{}}
	var dbs []string
	for i := range 120 {
		db := fmt.Sprintf("tenant_%03d", i)
		dbs = append(dbs, db)
		cp.rows[db] = append(cp.rows[db], control.CatalogRow{Database: db, Name: "20261201T000000000Z", Chain: "20261201T000000000Z",
			Kind: "full", Status: "completed", StoredBytes: uint64(1000 + i)})
	}
	s := New(cp, Options{ReadTokens: []string{"reader"}, Databases: dbs}, nil, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	get := func(query string) (int, string) {
		req := httptest.NewRequest(http.MethodGet, "/"+query, nil)
		req.SetBasicAuth("", "reader")
		rec := httptest.NewRecorder()
		s.echo.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	code, page := get("?page=2")
	if code != http.StatusOK {
		t.Fatalf("page 2: %d %s", code, page)
	}
	if n := strings.Count(page, `<section class="database"`); n != 50 {
		t.Errorf("page 2 shows %d databases, want 50", n)
	}
	for _, want := range []string{`data-database="tenant_050"`, `data-database="tenant_099"`, "databases 51–100 of 120",
		`href="?page=1">previous`, `href="?page=3">next`, "1.0 KiB"} {
		if !strings.Contains(page, want) {
			t.Errorf("page 2 lacks %q", want)
		}
	}
	if cp.reads.Load() != 50 {
		t.Errorf("page 2 read %d catalogs, want its 50", cp.reads.Load())
	}
	if strings.Contains(page, `data-database="tenant_049"`) || strings.Contains(page, `data-database="tenant_100"`) {
		t.Error("page 2 shows a database of another page")
	}
	if _, last := get("?page=3"); strings.Count(last, `<section class="database"`) != 20 || strings.Contains(last, "next</a>") {
		t.Errorf("the last page is not the 20 left, without a next link")
	}
	for _, bad := range []string{"?page=0", "?page=4", "?page=x"} {
		if code, body := get(bad); code != http.StatusBadRequest || !strings.Contains(body, "from 1 to 3") {
			t.Errorf("%s: %d %s", bad, code, body)
		}
	}
}
