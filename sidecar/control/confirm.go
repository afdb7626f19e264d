package control

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Only direct inserts are requests. A row of clickvault.requests names its
// authenticated login, but that login may not have meant it: a
// materialized view that another user attached to a table the login wrote
// to inserts rows in the login's name, and a native client may send its
// INSERT as a "secondary" query naming any initial user. The row carries
// its INSERT's query id (MATERIALIZED queryID(), held by a constraint);
// the sidecar reads that query from system.query_log (and the views it
// fired from system.query_views_log) and acts on the row only if the login
// itself ran it, as an initial INSERT into the requests table, and no view
// fired by it wrote into the requests table.

// ViewLister is a control plane that can name the materialized views fed by
// its tables.
type ViewLister interface {
	// ViewsOnControlTables names the materialized views whose source is
	// requests, request_log or backups.
	ViewsOnControlTables(ctx context.Context) ([]string, error)
}

// confirmations remember the query log's verdicts on rows, and how long a
// row has waited for one.
type confirmations struct {
	*base
	mu sync.Mutex
	// confirmedAt are rows the query log confirmed; firstUnconfirmed, when
	// a row was first found not yet logged.
	confirmedAt, firstUnconfirmed map[string]time.Time
}

// warnViewsOnControlTables says at start which materialized views read the
// control tables. Each fires on every INSERT into its source: one on
// requests or request_log can fail or forge every request (a view that
// writes into requests makes each INSERT that fires it unconfirmable).
// grants.sql keeps requesters from creating them; an operator should know
// of any that exist.
func (s *confirmations) warnViewsOnControlTables(ctx context.Context) {
	lister, ok := s.cp.(ViewLister)
	if !ok {
		return
	}
	views, err := lister.ViewsOnControlTables(ctx)
	if err != nil {
		s.logger.Warn("list the views on the control tables", "err", err)
		return
	}
	if len(views) > 0 {
		s.logger.Warn("materialized views read the control tables: each fires on every request or log row, "+
			"and whoever created one can stop or forge requests; drop them unless an operator made them on purpose",
			"views", strings.Join(views, ", "))
	}
}

// InsertFacts is what the server logged of one query id. A client names
// its query's id itself, so queries of other logins may share it: what a
// row's login ran is judged from its own queries alone (ByLogin), and
// another login reusing the id cannot make an honest row unconfirmable.
type InsertFacts struct {
	QueryID string
	// ByLogin is, per authenticated login, what its finished (or failed)
	// queries with this id were. A login absent ran none (yet).
	ByLogin map[string]LoginFacts
	// ViewsLogged: the server keeps system.query_views_log, so
	// ViewsIntoRequests (the materialized views fired by a query with this
	// id that wrote rows into the requests table) is known.
	ViewsLogged       bool
	ViewsIntoRequests []string
	// ViewRows is how many rows query_views_log holds of views fired by a
	// query with this id, whatever they wrote into.
	ViewRows uint64
	// ViewsOnRequests are the materialized views whose source is the
	// requests table (read when a query with this id fired views): an
	// INSERT into requests fires those alone, so one that fired another
	// view inserted into another table, and its row came from what that
	// set off (a view writing through a Distributed or Merge table).
	ViewsOnRequests []string
	// ViewsUnflushed: a query with this id fired views, and no flush of
	// query_views_log that succeeded has covered it yet, so what the views
	// wrote is not known: the row waits (and is rejected, saying so, if it
	// waits Options.ConfirmWait) rather than be judged on a log that may
	// lack the views' rows.
	ViewsUnflushed bool
}

// LoginFacts is what one login's queries with one id were.
type LoginFacts struct {
	Failed    bool     // one ended with an exception
	Users     []string // the user each ran as (its initial user)
	Secondary bool     // one was not an initial query
	Kinds     []string // query_kind of each
	// WroteRequests: each named the requests table among its tables.
	WroteRequests bool
	// ViewsFired are the views the query log names for them.
	ViewsFired []string
}

// defaultConfirmWait is how long a row the query logs cannot judge yet
// (judgeInsert's unconfirmed) waits before it is rejected. The logs are
// flushed before a look, so an honest row is confirmed at the first one;
// the wait covers an INSERT still finishing, and a flush that lags.
const defaultConfirmWait = 30 * time.Second

// verdict says what the query log says of a row.
type verdict int

const (
	unconfirmed verdict = iota // the logs cannot judge it yet
	confirmed
	refuted
)

// judgeInsert decides on a row from its INSERT's facts; the reason is for
// the requester, and says what to change. An unconfirmed row's reason is
// what it is rejected with once it has waited Options.ConfirmWait.
func judgeInsert(r Request, facts InsertFacts) (verdict, string) {
	f, logged := facts.ByLogin[r.RequestedBy]
	elsewhere := viewsElsewhere(f.ViewsFired, facts.ViewsOnRequests)
	switch {
	case r.QueryID == "":
		return refuted, "the row has no query id: it was inserted before this version of ClickVault, or not by an INSERT of its own (a Buffer table's flush); insert it again, directly"
	case len(r.QueryID) > MaxField: // read cut one byte past it: looked up, the cut id would name another query
		return refuted, fmt.Sprintf("its INSERT's query id is longer than %d bytes; insert it again with a shorter one (or none: the server names it)", MaxField)
	case !logged:
		return unconfirmed, "system.query_log has no record of the INSERT that made it (query " + r.QueryID +
			"); ClickVault confirms every request there: keep log_queries on for whoever makes requests"
	case f.Secondary:
		return refuted, "it was inserted by a secondary (distributed) query; insert requests directly, as an initial query"
	case len(elsewhere) > 0:
		return refuted, fmt.Sprintf("its INSERT fired %s, which does not read the requests table: the INSERT was into another table, "+
			"and a row it set off (a view writing through a Distributed or Merge table) is not a request; insert requests directly",
			strings.Join(elsewhere, ", "))
	case facts.ViewsUnflushed:
		return unconfirmed, "queries with its INSERT's id (" + r.QueryID + ") fired materialized views, and system.query_views_log " +
			"could not be flushed to show what they wrote (the sidecar's log says why): ask the operator to mend the server's " +
			"query_views_log, or insert requests where no materialized view reads the requests table"
	case !facts.ViewsLogged && len(f.ViewsFired) > 0:
		return refuted, fmt.Sprintf("its INSERT fired %s, and without system.query_views_log ClickVault cannot tell "+
			"whether a view wrote the row: ask the operator to enable query_views_log", strings.Join(f.ViewsFired, ", "))
	case facts.ViewsLogged && len(f.ViewsFired) > 0 && facts.ViewRows == 0:
		// Not refuted at once: a flush the server reported done may have
		// written nothing (a log whose table it cannot make).
		return unconfirmed, fmt.Sprintf("its INSERT fired %s, and system.query_views_log has no record of what they wrote: "+
			"either it ran with log_query_views = 0 (insert requests with log_query_views on), or the server's views log "+
			"is not being written (ask the operator)", strings.Join(f.ViewsFired, ", "))
	case len(facts.ViewsIntoRequests) > 0:
		return refuted, fmt.Sprintf("it was written by materialized view %s, fired by an INSERT of %q; "+
			"only rows a login inserts itself are requests", strings.Join(facts.ViewsIntoRequests, ", "), r.RequestedBy)
	case slices.ContainsFunc(f.Users, func(u string) bool { return u != r.RequestedBy }):
		return refuted, fmt.Sprintf("the query that inserted it (%s) ran as another login than %q", r.QueryID, r.RequestedBy)
	case f.Failed:
		return refuted, "the INSERT that made it failed; insert it again"
	case !f.WroteRequests || slices.ContainsFunc(f.Kinds, func(k string) bool { return k != "Insert" }):
		return refuted, "it was not inserted by an INSERT into the requests table"
	}
	return confirmed, ""
}

// viewsElsewhere are the views of fired that are not of onRequests.
func viewsElsewhere(fired, onRequests []string) []string {
	var out []string
	for _, v := range fired {
		if !slices.Contains(onRequests, v) {
			out = append(out, v)
		}
	}
	return out
}

// confirmNew keeps the pending rows that may be dispatched: those already
// taken by a sidecar (their log rows say they were confirmed then), and
// new ones the query logs confirm. Refuted rows are rejected; rows the
// logs cannot judge yet wait, until Options.ConfirmWait.
func (s *Runner) confirmNew(ctx context.Context, pending []PendingRequest) []PendingRequest {
	var fresh []Request
	for _, p := range pending {
		if p.Latest != nil || !s.dispatchable(p.ID) {
			continue
		}
		if !s.confirmations.knownConfirmed(p.ID) {
			fresh = append(fresh, p.Request)
		}
	}
	if len(fresh) > 0 {
		s.confirmRows(ctx, fresh)
	}
	out := pending[:0]
	for _, p := range pending {
		if p.Latest != nil || s.confirmations.knownConfirmed(p.ID) {
			out = append(out, p)
		}
	}
	return out
}

// confirmRows reads the query log for rows and records each verdict.
func (s *Runner) confirmRows(ctx context.Context, rows []Request) {
	ids := make([]string, 0, len(rows))
	since := rows[0].RequestedAt
	for _, r := range rows {
		if r.QueryID != "" {
			ids = append(ids, r.QueryID)
		}
		since = minTime(since, r.RequestedAt)
	}
	facts, err := s.base.cp.InsertFacts(ctx, ids, since)
	if err != nil {
		if ctx.Err() == nil {
			s.base.logger.Warn("read the query log to confirm requests; will retry", "err", err)
			refuseUnreadable(ctx, s, rows, err)
		}
		return
	}
	for _, r := range rows {
		v, why := judgeInsert(r, facts[r.QueryID])
		if v == unconfirmed && s.confirmations.waitedForLog(r.ID) {
			v = refuted
		}
		switch v {
		case confirmed:
			s.confirmations.markConfirmed(r.ID)
		case refuted:
			s.base.logger.Warn("request not confirmed by the query logs", "request", r.ID, "by", r.RequestedBy, "reason", why)
			s.refuse(ctx, r, reject("not a request: %s", why), false)
		}
	}
}

// refuseUnreadable answers the rows that have waited Options.ConfirmWait
// while the query log could not be read: every request reaches an answer,
// and this one says what to mend.
func refuseUnreadable(ctx context.Context, s *Runner, rows []Request, err error) {
	for _, r := range rows {
		if s.confirmations.waitedForLog(r.ID) {
			s.refuse(ctx, r, reject("not confirmed: the sidecar could not read system.query_log for %s (%v); "+
				"it needs SELECT on system.query_log and system.query_views_log (deploy/grants.sql); insert the request again", s.base.opts.ConfirmWait, err), false)
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// confirmMemory is how long a verdict is remembered; the maps are pruned
// with the ended-request memory.
const confirmMemory = 10 * time.Minute

// forget drops the verdict on an ended request.
func (s *confirmations) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.confirmedAt, id)
	delete(s.firstUnconfirmed, id)
}

func (s *confirmations) knownConfirmed(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.confirmedAt[id]
	return ok
}

func (s *confirmations) markConfirmed(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.confirmedAt[id] = s.now()
	delete(s.firstUnconfirmed, id)
}

// waitedForLog records when a row was first found unconfirmed and reports
// whether it has waited Options.ConfirmWait since.
func (s *confirmations) waitedForLog(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	first, ok := s.firstUnconfirmed[id]
	if !ok {
		s.firstUnconfirmed[id] = s.now()
		return false
	}
	if s.now().Sub(first) < s.opts.ConfirmWait {
		return false
	}
	delete(s.firstUnconfirmed, id)
	return true
}

// dispatchable: not answered here, not in flight here, not another
// sidecar's for now.
func (s *Runner) dispatchable(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ended := s.ended[id]
	return !ended && !s.inflight[id] && !s.base.now().Before(s.foreign[id])
}

// pruneConfirmations forgets verdicts older than confirmMemory.
func (s *confirmations) pruneConfirmations(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, at := range s.confirmedAt {
		if now.Sub(at) > confirmMemory {
			delete(s.confirmedAt, id)
		}
	}
	for id, at := range s.firstUnconfirmed {
		if now.Sub(at) > confirmMemory {
			delete(s.firstUnconfirmed, id)
		}
	}
}
