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
			FinishedAt: &done, CompressedSize: 10, CheckStatus: "broken", CheckProblem: "object <b>x</b> is missing", CheckedAt: &done},
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
