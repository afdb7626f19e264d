// Package memcontrol is an in-memory control.ControlPlane for unit tests:
// the requests table, request_log, the request_status view and the backups
// table. It answers as the SQL control plane does on the server: the
// contract suite (controltest) runs on both, and where they differed this
// fake was mended, never the suite.
package memcontrol

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/control"
)

// ControlPlane is the control tables in memory, safe for concurrent use.
type ControlPlane struct {
	ownUser  string
	proofKey []byte

	mu       sync.Mutex
	requests []control.Request              // every row, in insert order, as stored (uncut)
	places   []control.ReadMark             // each row's place in the insert order (its block and offset)
	blocks   uint64                         // the last block numbered: each INSERT is a block
	facts    map[string]control.InsertFacts // by query id, as the query log would show them
	log      []control.LogEntry
	catalog  map[string]control.CatalogRow
	sets     map[string]control.SetSummary
	// written is when each catalog and set row was written (updated_at),
	// by "catalog/"+key or "sets/"+key.
	written map[string]time.Time
	// fullReads counts PendingRequests calls: what the schedule pays per
	// pass.
	fullReads int
}

var _ control.ControlPlane = (*ControlPlane)(nil)

// New is an empty control plane; ownUser is the sidecar's login, who
// InsertRequest inserts as.
func New(ownUser string) *ControlPlane {
	return &ControlPlane{ownUser: ownUser, catalog: map[string]control.CatalogRow{}, sets: map[string]control.SetSummary{},
		facts: map[string]control.InsertFacts{}, written: map[string]time.Time{}}
}

func (p *ControlPlane) Init(context.Context) error { return nil }

// Insert adds a request as r.RequestedBy, as an INSERT by that login
// would; an empty id gets a new one. It returns the id.
func (p *ControlPlane) Insert(r control.Request) string {
	r.RequestedAt = time.Time{}
	return p.insert(r)[0]
}

// InsertAs inserts rs as login, as controltest.Plane has it: a row keeps a
// RequestedAt it is given (a backdated row), else gets now.
func (p *ControlPlane) InsertAs(_ context.Context, login string, rs ...control.Request) ([]string, error) {
	rows := make([]control.Request, len(rs))
	for i, r := range rs {
		r.RequestedBy = login
		rows[i] = r
	}
	return p.insert(rows...), nil
}

// insert stores rs as one INSERT into the requests table would: the
// columns' defaults (action backup, kind auto), as_of and requested_at to
// the millisecond in UTC, requested_at now unless given, and the INSERT's
// query id; the rows are one block, in the table's order within it
// (requested_at, then id as ClickHouse orders UUIDs), each with its offset.
// It returns the ids in the order given.
func (p *ControlPlane) insert(rs ...control.Request) []string {
	queryID := "query-" + uuid.NewString()
	now := time.Now()
	ids := make([]string, len(rs))
	rows := make([]control.Request, len(rs))
	for i, r := range rs {
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
			r.RequestedAt = now
		}
		r.RequestedAt, r.QueryID = millis(r.RequestedAt), queryID
		ids[i], rows[i] = r.ID, r
	}
	slices.SortStableFunc(rows, func(a, b control.Request) int {
		if c := a.RequestedAt.Compare(b.RequestedAt); c != 0 {
			return c
		}
		return compareUUIDs(a.ID, b.ID)
	})
	if len(rows) == 0 {
		return ids
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocks++
	for i, r := range rows {
		p.requests = append(p.requests, r)
		p.places = append(p.places, control.ReadMark{Block: p.blocks, Offset: uint64(i)})
	}
	login := rows[0].RequestedBy
	p.facts[queryID] = control.InsertFacts{QueryID: queryID, ViewsLogged: true,
		ByLogin: map[string]control.LoginFacts{login: {Users: []string{login}, Kinds: []string{"Insert"}, WroteRequests: true}}}
	return ids
}

// compareUUIDs orders two ids as ClickHouse orders UUID values: by their
// last eight bytes, then their first eight. An id that is not a UUID comes
// first, as the server would have refused it.
func compareUUIDs(a, b string) int {
	ua, errA := uuid.Parse(a)
	ub, errB := uuid.Parse(b)
	if errA != nil || errB != nil {
		return strings.Compare(a, b)
	}
	if c := bytes.Compare(ua[8:], ub[8:]); c != 0 {
		return c
	}
	return bytes.Compare(ua[:8], ub[:8])
}

// millis is t as a DateTime64(3) column keeps it.
func millis(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// WithProofKey makes InsertRequest sign the rows it inserts, as the
// ClickHouse adapter does with the sidecar's key.
func (p *ControlPlane) WithProofKey(key []byte) *ControlPlane {
	p.proofKey = key
	return p
}

// SetInsertFacts replaces what the query log says of the INSERT that made
// request id: a test makes a row look fired by a view, or secondary.
func (p *ControlPlane) SetInsertFacts(id string, edit func(*control.InsertFacts)) {
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
func (p *ControlPlane) InsertRequest(_ context.Context, r control.Request) (string, error) {
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
	return p.insert(r)[0], nil
}

func (p *ControlPlane) InsertFacts(_ context.Context, queryIDs []string, _ time.Time) (map[string]control.InsertFacts, error) {
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

func (p *ControlPlane) RequestCount(context.Context) (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return uint64(len(p.requests)), nil
}

// AppendLog adds request_log rows, at to the microsecond as DateTime64(6)
// keeps it. request_id is a UUID column: a batch with an id that is not
// one is refused whole, as the adapter refuses it before sending.
func (p *ControlPlane) AppendLog(_ context.Context, entries ...control.LogEntry) error {
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
func (p *ControlPlane) Requests() []control.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]control.Request(nil), p.requests...)
}

// Log returns every request_log row of a request, in the order written.
func (p *ControlPlane) Log(id string) []control.LogEntry {
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
