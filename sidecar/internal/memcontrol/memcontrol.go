// Package memcontrol is an in-memory control.ControlPlane for unit tests:
// the requests table, request_log, the request_status view and the backups
// table. It answers as the SQL control plane does on the server: the
// contract suite (controltest) runs on both, and where they differed this
// fake was mended, never the suite.
package memcontrol

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/control"
)

// Plane is the control tables in memory, safe for concurrent use.
type Plane struct {
	ownUser  string
	proofKey []byte

	mu       sync.Mutex
	requests []control.Request              // every row, in insertion order, as stored (uncut)
	facts    map[string]control.InsertFacts // by query id, as the query log would show them
	log      []control.LogEntry
	catalog  map[string]control.CatalogRow
}

var _ control.ControlPlane = (*Plane)(nil)

// New is an empty control plane; ownUser is the sidecar's login, who
// InsertRequest inserts as.
func New(ownUser string) *Plane {
	return &Plane{ownUser: ownUser, catalog: map[string]control.CatalogRow{}, facts: map[string]control.InsertFacts{}}
}

func (p *Plane) Init(context.Context) error { return nil }

// Insert adds a request as r.RequestedBy, as an INSERT by that login
// would; an empty id gets a new one. It returns the id.
func (p *Plane) Insert(r control.Request) string {
	r.RequestedAt = time.Time{}
	return p.insert(r)
}

// InsertAs inserts rs as login, as controltest.Plane has it: a row keeps a
// RequestedAt it is given (a backdated row), else gets now.
func (p *Plane) InsertAs(_ context.Context, login string, rs ...control.Request) ([]string, error) {
	ids := make([]string, len(rs))
	for i, r := range rs {
		r.RequestedBy = login
		ids[i] = p.insert(r)
	}
	return ids, nil
}

// insert stores r as the requests table would: the columns' defaults
// (action backup, kind auto), as_of and requested_at to the millisecond
// in UTC, requested_at now unless given, and a query id of its own.
func (p *Plane) insert(r control.Request) string {
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	if r.Action == "" {
		r.Action = control.ActionBackup
	}
	if r.Kind == "" {
		r.Kind = "auto"
	}
	if r.AsOf != nil {
		t := millis(*r.AsOf)
		r.AsOf = &t
	}
	if r.RequestedAt.IsZero() {
		r.RequestedAt = time.Now()
	}
	r.RequestedAt = millis(r.RequestedAt)
	r.QueryID = "query-" + uuid.NewString()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = append(p.requests, r)
	p.facts[r.QueryID] = control.InsertFacts{QueryID: r.QueryID, ViewsLogged: true,
		ByLogin: map[string]control.LoginFacts{r.RequestedBy: {Users: []string{r.RequestedBy}, Kinds: []string{"Insert"}, WroteRequests: true}}}
	return r.ID
}

// millis is t as a DateTime64(3) column keeps it.
func millis(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

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

// InsertRequest inserts as the sidecar's login, signed as the row will be
// read back (as_of to the millisecond), as the SQL control plane does.
func (p *Plane) InsertRequest(_ context.Context, r control.Request) (string, error) {
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	if r.Kind == "" {
		r.Kind = "auto"
	}
	if r.AsOf != nil {
		t := millis(*r.AsOf)
		r.AsOf = &t
	}
	r.RequestedBy, r.RequestedAt = p.ownUser, time.Time{}
	r.Proof = control.Sign(p.proofKey, r, p.ownUser)
	return p.insert(r), nil
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

// AppendLog adds request_log rows, at to the microsecond as DateTime64(6)
// keeps it. request_id is a UUID column: a batch with an id that is not
// one is refused whole, as the adapter refuses it before sending.
func (p *Plane) AppendLog(_ context.Context, entries ...control.LogEntry) error {
	for _, e := range entries {
		if _, err := uuid.Parse(e.RequestID); err != nil {
			return fmt.Errorf("request id %q: %w", e.RequestID, err)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range entries {
		e.At = e.At.UTC().Truncate(time.Microsecond)
		p.log = append(p.log, e)
	}
	return nil
}

// Requests returns every row of the requests table, in insertion order.
func (p *Plane) Requests() []control.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]control.Request(nil), p.requests...)
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
