package httpapi

import (
	"fmt"
	"html"
	"strings"

	"github.com/clickvault/clickvault/sidecar/model"
)

// renderStatus writes the status page: every value from the catalog or a
// request is escaped.
func renderStatus(d statusData) string {
	var dbs, reqs strings.Builder
	renderPager(&dbs, d.Pager)
	for _, db := range d.Databases {
		renderDatabase(&dbs, db)
	}
	renderRequests(&reqs, d.Requests)
	return strings.NewReplacer("<!--now-->", esc(d.Now), "<!--databases-->", dbs.String(),
		"<!--requests-->", reqs.String()).Replace(statusHTML)
}

func esc(s string) string { return html.EscapeString(s) }

func renderDatabase(w *strings.Builder, db databaseView) {
	fmt.Fprintf(w, "<section class=\"database\" data-database=\"%s\">\n  <h2>%s</h2>\n  <div class=\"facts\">\n", esc(db.Name), esc(db.Name))
	fmt.Fprintf(w, "    <div class=\"fact rpo %s\" data-age-seconds=\"%d\" data-rpo-seconds=\"%d\">%s</div>\n",
		esc(db.RPOClass), db.AgeSeconds, db.RPOSeconds, esc(db.RPOText))
	fmt.Fprintf(w, "    <div class=\"fact check %s\" data-status=\"%s\">%s</div>\n", esc(db.CheckClass), esc(db.CheckStatus), esc(db.CheckText))
	fmt.Fprintf(w, "    <div class=\"fact verify %s\" data-status=\"%s\">%s</div>\n", esc(db.VerifyClass), esc(db.VerifyStatus), esc(db.VerifyText))
	if db.CopyText != "" {
		fmt.Fprintf(w, "    <div class=\"fact copies %s\">%s</div>\n", esc(db.CopyClass), esc(db.CopyText))
	}
	w.WriteString("  </div>\n")
	if len(db.Chains) == 0 {
		w.WriteString("  <p class=\"empty\">No backups yet.</p>\n")
	}
	for _, ch := range db.Chains {
		earlier := ""
		if ch.Earlier > 0 {
			earlier = fmt.Sprintf(" · %d earlier not shown", ch.Earlier)
		}
		fmt.Fprintf(w, "  <div class=\"chain\" data-chain=\"%s\">\n    <span class=\"chain-name\">%s · %s · %s%s</span>\n    <div class=\"timeline\">",
			esc(ch.Name), esc(ch.Name), esc(ch.Depth), esc(ch.Size), earlier)
		for _, b := range ch.Backups {
			class := "backup status-" + b.Status
			if b.Check == model.CheckBroken {
				class += " check-broken"
			}
			fmt.Fprintf(w, "<div class=\"%s\" data-name=\"%s\" data-status=\"%s\" data-check=\"%s\" style=\"flex-grow: %.3f\" title=\"%s\"></div>",
				esc(class), esc(b.Name), esc(b.Status), esc(string(b.Check)), b.Weight, esc(b.Title))
		}
		w.WriteString("</div>\n  </div>\n")
	}
	if db.OlderChains > 0 {
		fmt.Fprintf(w, "  <p class=\"empty older\">%d older chains not shown (clickvault list, or clickvault.backups, has every backup).</p>\n", db.OlderChains)
	}
	renderSets(w, db)
	w.WriteString("</section>\n")
}

// renderSets writes a cluster node's newest sets of the database.
func renderSets(w *strings.Builder, db databaseView) {
	if !db.SetsShown {
		return
	}
	w.WriteString("  <h3>Sets (one backup per shard)</h3>\n")
	switch {
	case db.SetsProblem != "":
		fmt.Fprintf(w, "  <p class=\"empty sets-problem\">The sets could not be read: %s</p>\n", esc(db.SetsProblem))
		return
	case len(db.Sets) == 0:
		w.WriteString("  <p class=\"empty\">No sets yet.</p>\n")
		return
	}
	w.WriteString("  <table class=\"sets\">\n    <tr><th>set</th><th>state</th><th>kind</th><th>shards</th><th>by</th><th>created (UTC)</th><th>missing shards</th></tr>\n")
	for _, s := range db.Sets {
		fmt.Fprintf(w, "    <tr class=\"set\" data-set=\"%s\" data-state=\"%s\"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			esc(s.ID), esc(s.State), esc(s.ID), esc(s.State), esc(s.Kind), esc(s.Shards), esc(s.By), esc(s.Created), esc(s.Why))
	}
	w.WriteString("  </table>\n")
}

func renderRequests(w *strings.Builder, reqs []requestView) {
	if len(reqs) == 0 {
		w.WriteString("  <p class=\"empty\">None.</p>\n")
		return
	}
	w.WriteString("  <table>\n    <tr><th>request</th><th>action</th><th>database</th><th>state</th><th>progress</th><th>by</th><th>message</th></tr>\n")
	for _, r := range reqs {
		progress := esc(r.Progress)
		if r.Percent > 0 {
			progress = fmt.Sprintf("<progress max=\"100\" value=\"%d\"></progress> %d %%", r.Percent, r.Percent)
		}
		fmt.Fprintf(w, "    <tr class=\"request\" data-state=\"%s\"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			esc(r.State), esc(r.ID), esc(r.Action), esc(r.Database), esc(r.State), progress, esc(r.By), esc(r.Message))
	}
	w.WriteString("  </table>\n")
}
