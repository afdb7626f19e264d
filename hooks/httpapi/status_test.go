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

// TestStatusPageShowsTheNewestOfManyBackups: a database with 2,000
// backups (hourly, kept 90 days: ten chains of 200) shows its newest four
// chains, each with its newest 48 backups, and counts the rest; a page of
// 50 such databases drew every backup, 25 MB of HTML.
func TestStatusPageShowsTheNewestOfManyBackups(t *testing.T) {
	s := &Server{rpo: map[string]time.Duration{"shop": time.Hour}}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var rows []control.CatalogRow
	for c := range 10 {
		chain := ""
		for b := range 200 {
			at := now.Add(-time.Duration(2000-c*200-b) * time.Hour)
			name := at.Format("20060102T150405") + "000Z"
			if b == 0 {
				chain = name
			}
			rows = append(rows, control.CatalogRow{Database: "shop", Name: name, Kind: "incremental", Chain: chain,
				Status: "completed", FinishedAt: &at, StoredBytes: 100})
		}
	}
	newest := rows[len(rows)-1].Name
	page := renderStatus(statusData{Databases: []databaseView{s.databaseView("shop", rows, now)}})
	chains, bars := strings.Count(page, `<div class="chain"`), strings.Count(page, `<div class="backup `)
	if chains != 4 || bars != 4*48 {
		t.Errorf("the page draws %d chains and %d backups, want 4 and %d", chains, bars, 4*48)
	}
	for _, want := range []string{"6 older chains not shown", "200 completed", "152 earlier not shown", `data-name="` + newest + `"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if len(page) > 100_000 {
		t.Errorf("one database's page is %d bytes", len(page))
	}
}
