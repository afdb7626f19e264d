package httpapi

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/model"
)

// statusHTML is the page around its data: the style and the legend. The
// data is written with html.EscapeString, not html/template: a template's
// reflection keeps every exported method of every type in the binary (it
// grew by 14 MB, and the sidecar's idle memory by 7 MB).
//
//go:embed status.html
var statusHTML string

// statusData is what the status page shows.
type statusData struct {
	Now       string
	Databases []databaseView
	Requests  []requestView
	Pager     pager
}

type databaseView struct {
	Name                               string
	AgeSeconds, RPOSeconds             int64
	RPOClass, RPOText                  string
	CheckStatus, CheckClass, CheckText string
	VerifyStatus, VerifyClass          string
	VerifyText                         string
	// CopyClass and CopyText say which [[copy]] targets hold the newest
	// backup ("" without targets).
	CopyClass, CopyText string
	Chains              []chainView
	// OlderChains are the chains not shown (chainsShown).
	OlderChains int
	// Sets, on a cluster node, are the newest sets; SetsProblem why they
	// could not be read (the page is shown without them).
	Sets        []setView
	SetsShown   bool
	SetsProblem string
}

type setView struct {
	ID, State, Kind, Shards, By, Created, Why string
}

type chainView struct {
	Name, Size string
	Depth      string
	Backups    []backupView
	// Earlier are the backups of the chain not shown (backupsShown).
	Earlier int
}

type backupView struct {
	Name, Status, Title string
	Check               model.CheckVerdict // "" if never checked
	Weight              float64
}

type requestView struct {
	ID, Action, Database, State, Progress, By, Message string
	Percent                                            int
}

// status serves GET /: one page, server-rendered, no external assets.
func (s *Server) status(c echo.Context) error {
	ctx := c.Request().Context()
	now := time.Now().UTC()
	shown, page, err := pageOf(c, s.databases)
	if err != nil {
		return err
	}
	data := statusData{Now: now.Format("2006-01-02 15:04:05 UTC"), Pager: page}
	if data.Databases, err = s.databaseViews(ctx, shown, now); err != nil {
		return err
	}
	active, err := s.cp.ActiveRequests(ctx, 100)
	if err != nil {
		return err
	}
	for _, r := range active {
		if s.visible(r.Database) {
			data.Requests = append(data.Requests, newRequestView(r))
		}
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	return c.HTMLBlob(http.StatusOK, []byte(renderStatus(data)))
}

func newRequestView(r control.RequestStatus) requestView {
	v := requestView{ID: r.ID, Action: string(r.Action), Database: r.Database, State: string(r.State), By: r.RequestedBy, Message: r.Message}
	if r.Via != "" {
		v.By = r.Via
	}
	switch {
	case r.TotalSize > 0 && r.BytesRead > 0:
		v.Percent = int(min(100, r.BytesRead*100/r.TotalSize))
	case r.TotalSize > 0:
		v.Progress = model.FormatBytes(r.TotalSize) + " written"
	case r.State == control.StateQueued:
		v.Progress = "waiting for its database"
	default:
		v.Progress = "started"
	}
	return v
}

func (s *Server) databaseView(db string, rows []control.CatalogRow, now time.Time) databaseView {
	v := databaseView{Name: db, RPOSeconds: int64(s.rpo[db].Seconds())}
	chains := map[string]*chainView{}
	var order []string
	var newest, checked, verified *control.CatalogRow
	var maxSize uint64
	sizes := map[string]uint64{}
	for i := range rows {
		sizes[rows[i].Name] = storedBytes(&rows[i])
		maxSize = max(maxSize, sizes[rows[i].Name])
	}
	for i := range rows {
		r := &rows[i]
		ch, ok := chains[r.Chain]
		if !ok {
			ch = &chainView{Name: r.Chain}
			chains[r.Chain], order = ch, append(order, r.Chain)
		}
		ch.Backups = append(ch.Backups, backupView{Name: r.Name, Status: string(r.Status), Check: r.CheckVerdict,
			Weight: weight(sizes[r.Name], maxSize), Title: backupTitle(r)})
		if r.Status == model.CatalogCompleted && (newest == nil || r.Name > newest.Name) {
			newest = r
		}
		if r.CheckedAt != nil && (checked == nil || r.CheckedAt.After(*checked.CheckedAt)) {
			checked = r
		}
		if r.VerifiedAt != nil && (verified == nil || r.VerifiedAt.After(*verified.VerifiedAt)) {
			verified = r
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(order)))
	v.OlderChains = max(0, len(order)-chainsShown)
	for _, name := range order[:min(len(order), chainsShown)] {
		v.Chains = append(v.Chains, finishChain(chains[name], sizes))
	}
	v.rpoFacts(newest, now, s.rpo[db])
	v.checkFacts(rows, checked)
	v.verifyFacts(verified)
	v.copyFacts(newest, s.copies)
	return v
}

// setsOnPage is how many of a database's newest sets the status page
// shows: each is one read of S3.
const setsOnPage = 10

// addSets adds a cluster node's newest sets of the database to its view. A
// bucket that cannot be read is said on the page, which still shows.
func (s *Server) addSets(ctx context.Context, v *databaseView) {
	if s.sets == nil {
		return
	}
	v.SetsShown = true
	sets, err := s.sets(ctx, v.Name, setsOnPage)
	if err != nil {
		v.SetsProblem = shorten(err.Error())
		return
	}
	for _, set := range sets {
		var why []string
		for shard, reason := range set.Reasons {
			why = append(why, shard+": "+reason)
		}
		sort.Strings(why)
		v.Sets = append(v.Sets, setView{ID: set.ID, State: string(set.State), Kind: set.Kind, Shards: fmt.Sprint(set.Shards),
			By: set.RequestedBy, Created: set.CreatedAt.UTC().Format("2006-01-02 15:04:05"), Why: strings.Join(why, "; ")})
	}
}
