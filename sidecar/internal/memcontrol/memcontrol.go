// Package memcontrol is an in-memory control.ControlPlane for unit tests:
// the requests table, request_log, the request_status view (the terminal
// row wins, else the newest) and the backups table, with the bounds of a
// pending read that the ClickHouse adapter has.
package memcontrol

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/control"
)

// Plane is the control tables in memory, safe for concurrent use.
type Plane struct {
	ownUser  string
	proofKey []byte

	mu       sync.Mutex
	requests []control.Request
	facts    map[string]control.InsertFacts // by query id, as the query log would show them
	log      []control.LogEntry
	catalog  map[string]control.CatalogRow
}

var _ control.ControlPlane = (*Plane)(nil)

// New is an empty control plane; ownUser is the sidecar's login, who
// InsertRequest inserts as.
func New(ownUser string) *Plane {
	return &Plane{ownUser: ownUser, catalog: map[string]control.CatalogRow{}}
}

func (p *Plane) Init(context.Context) error { return nil }

// Insert adds a request as r.RequestedBy, as an INSERT by that login
// would; an empty id gets a new one. It returns the id.
func (p *Plane) Insert(r control.Request) string {
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	if r.Action == "" {
		r.Action = control.ActionBackup
	}
	r.RequestedAt = time.Now()
	r.QueryID = "query-" + uuid.NewString()
	p.mu.Lock()
	p.requests = append(p.requests, r)
	if p.facts == nil {
		p.facts = map[string]control.InsertFacts{}
	}
	p.facts[r.QueryID] = control.InsertFacts{QueryID: r.QueryID, ViewsLogged: true,
		ByLogin: map[string]control.LoginFacts{r.RequestedBy: {Users: []string{r.RequestedBy}, Kinds: []string{"Insert"}, WroteRequests: true}}}
	p.mu.Unlock()
	return r.ID
}

// WithProofKey makes InsertRequest sign the rows it inserts, as the
// ClickHouse adapter does with the sidecar's key.
func (p *Plane) WithProofKey(key []byte) *Plane {
	p.proofKey = key
	return p
}

// SetInsertFacts replaces what the query log says of the INSERT that made
// request id: a test makes a row look fired by a view, or secondary.
func (p *Plane) SetInsertFacts(id string, edit func(*control.InsertFacts)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.requests {
		if r.ID == id {
			f := p.facts[r.QueryID]
			edit(&f)
			p.facts[r.QueryID] = f
		}
	}
}

func (p *Plane) InsertRequest(_ context.Context, r control.Request) (string, error) {
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	if r.Kind == "" {
		r.Kind = "auto"
	}
	r.RequestedBy = p.ownUser
	r.Proof = control.Sign(p.proofKey, r, p.ownUser)
	return p.Insert(r), nil
}

func (p *Plane) InsertFacts(_ context.Context, queryIDs []string, _ time.Time) (map[string]control.InsertFacts, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]control.InsertFacts{}
	for _, id := range queryIDs {
		if f, ok := p.facts[id]; ok {
			out[id] = f
		}
	}
	return out, nil
}

func (p *Plane) RequestCount(context.Context) (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return uint64(len(p.requests)), nil
}

func (p *Plane) AppendLog(_ context.Context, entries ...control.LogEntry) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, entries...)
	return nil
}

// latest is a request's status row: its first terminal entry, else its
// newest; nil without any.
func (p *Plane) latest(id string) *control.LogEntry {
	var newest *control.LogEntry
	for i := range p.log {
		e := &p.log[i]
		if e.RequestID != id {
			continue
		}
		if control.Terminal(e.State) {
			return e
		}
		if newest == nil || !e.At.Before(newest.At) {
			newest = e
		}
	}
	return newest
}

func (p *Plane) PendingRequests(_ context.Context, since time.Time) ([]control.PendingRequest, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	perUser := map[string]int{}
	var out []control.PendingRequest
	first, logins := p.firstRows(since)
	for _, r := range first {
		if len(out) == control.PendingPerRead {
			continue
		}
		l := p.latest(r.ID)
		if (l != nil && control.Terminal(l.State)) || perUser[r.RequestedBy] == control.PendingPerRequester {
			continue
		}
		perUser[r.RequestedBy]++
		pr := control.PendingRequest{Request: r, Logins: len(logins[r.ID])}
		if l != nil {
			copied := *l
			pr.Latest = &copied
		}
		out = append(out, pr)
	}
	return out, nil
}

// firstRows is, as in the SQL control plane, the requests made since with
// one row per id, the first (by requested_at, then insertion), oldest
// first, and the logins that used each id; the caller holds p.mu.
func (p *Plane) firstRows(since time.Time) ([]control.Request, map[string]map[string]bool) {
	byID := map[string]control.Request{}
	logins := map[string]map[string]bool{}
	for _, r := range p.requests {
		if r.RequestedAt.Before(since) {
			continue
		}
		if logins[r.ID] == nil {
			logins[r.ID] = map[string]bool{}
		}
		logins[r.ID][r.RequestedBy] = true
		if prev, ok := byID[r.ID]; !ok || r.RequestedAt.Before(prev.RequestedAt) {
			byID[r.ID] = r
		}
	}
	first := make([]control.Request, 0, len(byID))
	for _, r := range byID {
		first = append(first, r)
	}
	sort.SliceStable(first, func(i, j int) bool {
		if !first[i].RequestedAt.Equal(first[j].RequestedAt) {
			return first[i].RequestedAt.Before(first[j].RequestedAt)
		}
		return first[i].ID < first[j].ID
	})
	return first, logins
}

func (p *Plane) Status(_ context.Context, id string) (control.RequestStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.requests {
		if r.ID != id {
			continue
		}
		st := control.RequestStatus{ID: r.ID, Action: r.Action, Database: r.Database, Kind: r.Kind,
			RequestedBy: r.RequestedBy, Via: r.Via, RequestedAt: r.RequestedAt, State: "pending"}
		if l := p.latest(id); l != nil {
			st.State, st.Backup, st.Message, st.UpdatedAt = l.State, l.Backup, l.Message, l.At
			st.NumFiles, st.TotalSize, st.BytesRead = l.NumFiles, l.TotalSize, l.BytesRead
		}
		return st, nil
	}
	return control.RequestStatus{}, fmt.Errorf("request %s: %w", id, sidecar.ErrNotFound)
}

// ActiveRequests returns the queued and running requests, oldest first.
func (p *Plane) ActiveRequests(ctx context.Context, limit int) ([]control.RequestStatus, error) {
	p.mu.Lock()
	ids := make([]string, 0, len(p.requests))
	for _, r := range p.requests {
		ids = append(ids, r.ID)
	}
	p.mu.Unlock()
	var out []control.RequestStatus
	for _, id := range ids {
		st, err := p.Status(ctx, id)
		if err == nil && (st.State == control.StateQueued || st.State == control.StateRunning) && len(out) < limit {
			out = append(out, st)
		}
	}
	return out, nil
}

// Log returns every request_log row of a request, in the order written.
func (p *Plane) Log(id string) []control.LogEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []control.LogEntry
	for _, e := range p.log {
		if e.RequestID == id {
			out = append(out, e)
		}
	}
	return out
}

func (p *Plane) CatalogRows(_ context.Context, database string) ([]control.CatalogRow, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []control.CatalogRow
	for _, r := range p.catalog {
		if r.Database == database {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (p *Plane) WriteCatalog(_ context.Context, rows []control.CatalogRow) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range rows {
		p.catalog[r.Database+"/"+r.Name] = r
	}
	return nil
}
