package control

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// unreadableLog is a control plane whose query log cannot be read.
type unreadableLog struct{ appendRecorder }

func (*unreadableLog) InsertFacts(context.Context, []string, time.Time) (map[string]InsertFacts, error) {
	return nil, errors.New("ACCESS_DENIED (497): not enough privileges")
}

// TestUnreadableQueryLogStillAnswers: a request whose INSERT cannot be
// looked up (the query log is unreadable) waits Options.ConfirmWait, then
// is rejected saying why: it never stays pending.
func TestUnreadableQueryLogStillAnswers(t *testing.T) {
	cp := &unreadableLog{}
	answers := answersPastConfirmWait(t, cp, &cp.appendRecorder, nil)
	if len(answers) != 1 || answers[0].State != StateRejected || !strings.Contains(answers[0].Message, "could not read system.query_log") {
		t.Fatalf("answers %+v; want one rejection saying the query log could not be read", answers)
	}
}

// answersPastConfirmWait has alice's row looked up in cp's query log, then
// again once Options.ConfirmWait has passed, with the rejecter running;
// between the two, between (when set) sees the runner and the row. It
// returns the rows written to request_log.
func answersPastConfirmWait(t *testing.T, cp ControlPlane, rec *appendRecorder, between func(*Runner, Request)) []LogEntry {
	t.Helper()
	s := newUnitSidecar("a", memstore.New(), cp)
	now := time.Now()
	s.base.now = func() time.Time { return now }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.rejecter.rejectLoop(ctx); close(done) }()
	row := Request{ID: "r1", Action: ActionBackup, Database: "shop", RequestedBy: "alice", QueryID: "q1", RequestedAt: now}
	s.confirmRows(ctx, []Request{row})
	if between != nil {
		between(s, row)
	}
	now = now.Add(s.base.opts.ConfirmWait + time.Second)
	s.confirmRows(ctx, []Request{row})
	cancel()
	<-done
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var answers []LogEntry
	for _, batch := range rec.inserts {
		answers = append(answers, batch...)
	}
	return answers
}

// viewsUnflushed is a control plane whose query log shows every INSERT,
// each having fired a view the views log was never flushed to show.
type viewsUnflushed struct{ appendRecorder }

func (*viewsUnflushed) InsertFacts(_ context.Context, ids []string, _ time.Time) (map[string]InsertFacts, error) {
	out := map[string]InsertFacts{}
	for _, id := range ids {
		out[id] = InsertFacts{QueryID: id, ViewsLogged: true, ViewsUnflushed: true, ViewsOnRequests: []string{"db.audit_mv"}, ByLogin: map[string]LoginFacts{
			"alice": {Users: []string{"alice"}, Kinds: []string{"Insert"}, WroteRequests: true, ViewsFired: []string{"db.audit_mv"}}}}
	}
	return out, nil
}

// TestRowsWaitingForTheViewsLogSayWhy: a row whose INSERT fired views the
// views log never came to show waits Options.ConfirmWait, then is rejected
// saying that log could not be flushed — not that the query log has no
// record of an INSERT it shows.
func TestRowsWaitingForTheViewsLogSayWhy(t *testing.T) {
	cp := &viewsUnflushed{}
	answers := answersPastConfirmWait(t, cp, &cp.appendRecorder, func(s *Runner, row Request) {
		if s.confirmations.knownConfirmed(row.ID) {
			t.Error("a row whose INSERT fired views was confirmed before the views log showed what they wrote")
		}
	})
	if len(answers) != 1 || answers[0].State != StateRejected || !strings.Contains(answers[0].Message, "query_views_log could not be flushed") {
		t.Fatalf("answers %+v; want one rejection saying the views log could not be flushed", answers)
	}
}

// TestCancelOfAnAnsweredRequestStopsNothing: a request this sidecar has
// answered (a rejection queued for the batch writer, its row not written
// yet) is not stopped again by a cancel, which would give it a second
// terminal row; one executing is not stopped either.
func TestCancelOfAnAnsweredRequestStopsNothing(t *testing.T) {
	s := newUnitSidecar("a", memstore.New(), nil)
	s.markEnded("r1") // what rejectLater does before it queues the rejection
	if got := s.stopHere("r1"); got != alreadyEnded {
		t.Errorf("stopHere on a request already answered here: %v, want alreadyEnded", got)
	}
	s.mu.Lock()
	s.running["r2"] = true
	s.mu.Unlock()
	if got := s.stopHere("r2"); got != alreadyRunning {
		t.Errorf("stopHere on a request executing: %v, want alreadyRunning", got)
	}
	if got := s.stopHere("r3"); got != stopped {
		t.Errorf("stopHere on a request not begun: %v, want stopped", got)
	}
	if got := s.stopHere("r3"); got != alreadyEnded {
		t.Errorf("stopHere twice: %v, want alreadyEnded the second time", got)
	}
}
