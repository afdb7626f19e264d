package httpapi

import (
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/control"
)

// TestStatusPageEscapes: what a request or the catalog says reaches the page
// as text, never as markup.
func TestStatusPageEscapes(t *testing.T) {
	s := &Server{rpo: map[string]time.Duration{"shop": time.Hour}}
	now := time.Now()
	done := now.Add(-30 * time.Minute)
	rows := []control.CatalogRow{
		{Database: "shop", Name: "20261201T000000000Z", Kind: "full", Chain: "20261201T000000000Z", Status: "completed",
			FinishedAt: &done, CompressedSize: 1000, Error: `"><script>alert(1)</script>`},
		{Database: "shop", Name: "20261201T010000000Z", Kind: "incremental", Chain: "20261201T000000000Z", Status: "completed",
			FinishedAt: &done, CompressedSize: 10, CheckVerdict: "broken", CheckProblem: "object <b>x</b> is missing", CheckedAt: &done},
	}
	page := renderStatus(statusData{Now: "now", Databases: []databaseView{s.databaseView("shop", rows, now)},
		Requests: []requestView{newRequestView(control.RequestStatus{ID: "r1", Action: "backup", State: "running",
			Message: "<img src=x onerror=alert(1)>", TotalSize: 100, BytesRead: 50})}})
	for _, bad := range []string{"<script>", "<img", "<b>"} {
		if strings.Contains(page, bad) {
			t.Fatalf("the page carries %q as markup", bad)
		}
	}
	for _, want := range []string{`class="fact rpo ok"`, `data-rpo-seconds="3600"`, `class="backup status-completed check-broken"`,
		`<progress max="100" value="50">`, "1 backups broken", "&lt;img src=x"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// TestStatusPageSaysWhereTheNewestBackupIsCopied: with [[copy]] targets,
// the page says which of them lack the newest completed backup, or that
// every one holds it; without targets it says nothing of copies.
func TestStatusPageSaysWhereTheNewestBackupIsCopied(t *testing.T) {
	done := time.Now().Add(-time.Minute)
	rows := func(copies ...string) []control.CatalogRow {
		return []control.CatalogRow{
			{Database: "shop", Name: "20261201T000000000Z", Kind: "full", Chain: "c", Status: "completed", FinishedAt: &done,
				Copies: []string{"dr", "near"}},
			{Database: "shop", Name: "20261201T010000000Z", Kind: "incremental", Chain: "c", Status: "completed", FinishedAt: &done,
				Copies: copies},
		}
	}
	page := func(s *Server, r []control.CatalogRow) string {
		return renderStatus(statusData{Databases: []databaseView{s.databaseView("shop", r, time.Now())}})
	}
	with := &Server{copies: []string{"dr", "near"}}
	if got := page(with, rows("near")); !strings.Contains(got, `<div class="fact copies late">Newest backup not yet copied to dr</div>`) {
		t.Errorf("the newest backup held by near alone:\n%s", got)
	}
	if got := page(with, rows("dr", "near")); !strings.Contains(got, `<div class="fact copies ok">Newest backup copied to dr, near</div>`) ||
		!strings.Contains(got, "copied to dr, near") {
		t.Errorf("the newest backup held by both:\n%s", got)
	}
	if got := page(&Server{}, rows()); strings.Contains(got, "fact copies") {
		t.Errorf("a page without copy targets speaks of copies:\n%s", got)
	}
}
