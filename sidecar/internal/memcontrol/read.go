package memcontrol

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/control"
)

// answer is what request_log says of one request, as the SQL control plane
// reads it: the row that decides its state (the newest terminal row once
// there is one, else the newest), the newest backup name and operation id
// any row gave, and the newest row's time.
type answer struct {
	decides         control.LogEntry
	backup, opID    string
	updatedAt       time.Time
	decidesTerminal bool
	newestBackupAt  time.Time
	newestOpAt      time.Time
}

// answerOf is id's answer; false without any log row. The caller holds p.mu.
func (p *ControlPlane) answerOf(id string) (answer, bool) {
	var a answer
	found := false
	for _, e := range p.log {
		if e.RequestID != id {
			continue
		}
		terminal := control.Terminal(e.State)
		// A later row wins a tie, as the later insert does in practice.
		if !found || (terminal && !a.decidesTerminal) || (terminal == a.decidesTerminal && !e.At.Before(a.decides.At)) {
			a.decides, a.decidesTerminal = e, terminal
		}
		if e.Backup != "" && !e.At.Before(a.newestBackupAt) {
			a.backup, a.newestBackupAt = e.Backup, e.At
		}
		if e.OperationID != "" && !e.At.Before(a.newestOpAt) {
			a.opID, a.newestOpAt = e.OperationID, e.At
		}
		if e.At.After(a.updatedAt) {
			a.updatedAt = e.At
		}
		found = true
	}
	return a, found
}

// firstRows is, as in the SQL control plane, the requests made at or after
// since with one row per id, the first inserted (the server's block order;
// requested_at may be dated back), in insertion order, and how many logins
// used each id; the caller holds p.mu.
func (p *ControlPlane) firstRows(since time.Time) ([]control.Request, map[string]int) {
	byID := map[string]control.Request{}
	var first []control.Request
	logins := map[string]map[string]bool{}
	for _, r := range p.requests {
		if r.RequestedAt.Before(since) {
			continue
		}
		if logins[r.ID] == nil {
			logins[r.ID] = map[string]bool{}
		}
		logins[r.ID][r.RequestedBy] = true
		if _, ok := byID[r.ID]; !ok {
			byID[r.ID] = r
			first = append(first, r)
		}
	}
	counts := make(map[string]int, len(logins))
	for id, l := range logins {
		counts[id] = len(l)
	}
	return first, counts
}

// FullReads is how many times PendingRequests was called.
func (p *ControlPlane) FullReads() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fullReads
}

// PendingRequests is a full read, as the SQL control plane's.
func (p *ControlPlane) PendingRequests(ctx context.Context, since time.Time) ([]control.PendingRequest, error) {
	p.mu.Lock()
	p.fullReads++
	p.mu.Unlock()
	page, err := p.PendingAfter(ctx, control.ReadFrom{Since: since, Full: true})
	return page.Pending, err
}

// PendingAfter reads as the SQL control plane does: the rows made since,
// in insert order, a full read those whose id has no terminal answer, else
// each requester's from its mark (or the floor), at most
// PendingPerRequester of a requester and PendingPerRead in all; of those,
// the first rows of their ids (among the rows made since) without a
// terminal answer are pending, cut as admission expects.
func (p *ControlPlane) PendingAfter(_ context.Context, from control.ReadFrom) (control.ReadPage, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	page := control.ReadPage{LastBlock: p.blocks}
	firsts := p.firstsSince(from.Since)
	perUser := map[string]int{}
	for i, r := range p.requests {
		if len(page.Seen) == control.PendingPerRead {
			break
		}
		if r.RequestedAt.Before(from.Since) || perUser[r.RequestedBy] == control.PendingPerRequester || !p.readFrom(from, i) {
			continue
		}
		perUser[r.RequestedBy]++
		page.Seen = append(page.Seen, control.SeenRow{RequestedBy: r.RequestedBy, Mark: p.places[i]})
		if f := firsts[r.ID]; f.index == i {
			if pr, ok := p.pendingAt(i, len(f.logins)); ok {
				page.Pending = append(page.Pending, pr)
			}
		}
	}
	return page, nil
}

// firstOf is, for one id, the first row made since a read's since, and the
// logins that used the id since.
type firstOf struct {
	index  int
	logins map[string]bool
}

// firstsSince indexes the rows made since by id; the caller holds p.mu.
func (p *ControlPlane) firstsSince(since time.Time) map[string]firstOf {
	out := map[string]firstOf{}
	for i, r := range p.requests {
		if r.RequestedAt.Before(since) {
			continue
		}
		f, ok := out[r.ID]
		if !ok {
			f = firstOf{index: i, logins: map[string]bool{}}
		}
		f.logins[r.RequestedBy] = true
		out[r.ID] = f
	}
	return out
}

// readFrom reports whether row i is one a read from takes in; the caller
// holds p.mu.
func (p *ControlPlane) readFrom(from control.ReadFrom, i int) bool {
	if from.Full {
		a, logged := p.answerOf(p.requests[i].ID)
		return !logged || !a.decidesTerminal
	}
	start, ok := from.Marks[p.requests[i].RequestedBy]
	if !ok {
		start = control.ReadMark{Block: from.Floor}
	}
	return !p.places[i].Before(start)
}

// pendingAt is row i, the first of its id, as a pending request, unless
// its id has a terminal answer; the caller holds p.mu.
func (p *ControlPlane) pendingAt(i, logins int) (control.PendingRequest, bool) {
	r := p.requests[i]
	a, logged := p.answerOf(r.ID)
	if logged && a.decidesTerminal {
		return control.PendingRequest{}, false
	}
	pr := control.PendingRequest{Request: cutRow(r), Logins: logins, Mark: p.places[i]}
	if logged {
		pr.Latest = &control.LogEntry{RequestID: r.ID, State: a.decides.State, Backup: a.backup, OperationID: a.opID}
	}
	return pr, true
}

// cutRow is a request row as a pending read has it: every text cut one
// byte past MaxField, a list over MaxList names or MaxListBytes bytes read
// as [TooLong].
func cutRow(r control.Request) control.Request {
	r.Action = control.Action(cut(string(r.Action)))
	for _, s := range []*string{&r.Database, &r.Kind, &r.Backup, &r.Target, &r.Via, &r.Mode, &r.Consumers, &r.Source, &r.QueryID, &r.Proof} {
		*s = cut(*s)
	}
	r.Tables, r.ExcludeTables, r.Partitions = cutList(r.Tables), cutList(r.ExcludeTables), cutList(r.Partitions)
	return r
}

func cut(s string) string {
	if len(s) > control.MaxField+1 {
		return s[:control.MaxField+1]
	}
	return s
}

func cutList(l []string) []string {
	size := 0
	for _, s := range l {
		size += len(s)
	}
	if len(l) > control.MaxList || size > control.MaxListBytes {
		return []string{control.TooLong}
	}
	if l == nil {
		return nil
	}
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = cut(s)
	}
	return out
}

// Status reads the request_status view: the first row of the id (whatever
// its age) with its answer; 'pending' with the request's backup and
// updated_at at the epoch (the view's empty join) before any log row.
func (p *ControlPlane) Status(_ context.Context, id string) (control.RequestStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.statusLocked(id)
}

func (p *ControlPlane) statusLocked(id string) (control.RequestStatus, error) {
	var first *control.Request
	for i, r := range p.requests {
		if r.ID == id {
			first = &p.requests[i]
			break
		}
	}
	if first == nil {
		return control.RequestStatus{}, fmt.Errorf("request %s: %w", id, sidecar.ErrNotFound)
	}
	r := first
	st := control.RequestStatus{ID: r.ID, Action: r.Action, Database: r.Database, Kind: r.Kind, RequestedBy: r.RequestedBy,
		Via: r.Via, RequestedAt: r.RequestedAt, State: control.StatePending, Backup: r.Backup, UpdatedAt: time.Unix(0, 0).UTC()}
	if a, ok := p.answerOf(id); ok {
		l := a.decides
		st.State, st.Backup, st.Message, st.UpdatedAt = l.State, l.Backup, l.Message, a.updatedAt
		st.NumFiles, st.TotalSize, st.BytesRead = l.NumFiles, l.TotalSize, l.BytesRead
	}
	return st, nil
}

// activeWindow is how far back ActiveRequests looks, as the adapter's SQL.
const activeWindow = 24 * time.Hour

// ActiveRequests returns the queued and running requests of the last day,
// each once, oldest first, at most limit (at least one, as LIMIT is).
func (p *ControlPlane) ActiveRequests(_ context.Context, limit int) ([]control.RequestStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	first, _ := p.firstRows(time.Time{})
	// Oldest requested_at first, as request_status is ordered, not the
	// order the rows were inserted in (a row may be dated back).
	first = slices.Clone(first)
	slices.SortStableFunc(first, func(a, b control.Request) int { return a.RequestedAt.Compare(b.RequestedAt) })
	horizon := time.Now().Add(-activeWindow)
	var out []control.RequestStatus
	for _, r := range first {
		if !r.RequestedAt.After(horizon) || len(out) == max(limit, 1) {
			continue
		}
		st, err := p.statusLocked(r.ID)
		if err == nil && (st.State == control.StateQueued || st.State == control.StateRunning) {
			out = append(out, st)
		}
	}
	return out, nil
}
