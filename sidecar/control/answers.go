package control

import (
	"context"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// record appends a state change of a request to request_log.
func (s *Runner) record(ctx context.Context, r Request, state State, e LogEntry) {
	s.write(ctx, r, state, e)
	s.base.obs.RequestState(string(r.Action), state)
}

// logEntry fills in e's request, state, sidecar and (if unset) time.
func (s *base) logEntry(r Request, state State, e LogEntry) LogEntry {
	e.RequestID, e.Action, e.Database, e.State, e.Sidecar = r.ID, r.Action, r.Database, state, s.opts.Instance
	if e.At.IsZero() {
		e.At = s.now().UTC()
	}
	return e
}

func (s *Runner) write(ctx context.Context, r Request, state State, e LogEntry) {
	e = s.base.logEntry(r, state, e)
	if Terminal(state) {
		// The answer must be written even while shutting down.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
	}
	if err := s.base.cp.AppendLog(ctx, e); err != nil {
		if ctx.Err() == nil {
			s.base.logger.Error("record request state", "request", r.ID, "state", state, "err", err)
		}
		return
	}
	if Terminal(state) {
		s.markEnded(r.ID)
	}
}

// endedMemory is how long an ended request is remembered: far longer than a
// read of pending requests that began before its answer takes to hand it on
// (a full read, which can take longer, hands nothing on itself: poll.go).
// No longer: a flood is answered thousands of rows a second, and each is
// remembered (10 minutes of 3,000,000 junk rows grew the sidecar to 500 MB).
const endedMemory = time.Minute

// endedPruneEvery bounds how often the memory of ended requests is walked.
const endedPruneEvery = 10 * time.Second

// markEnded remembers that id has its answer (or was cancelled), and
// forgets the ids remembered for longer than endedMemory.
//
// It reports whether id was not ended before: an answer written only when
// it is (a rejection) never follows another (a cancel's).
func (s *Runner) markEnded(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, before := s.ended[id]
	s.markEndedLocked(id)
	return !before
}

func (s *Runner) markEndedLocked(id string) {
	delete(s.admitRefusals, id)
	s.confirmations.forget(id) // the verdict on its row (confirmations; their lock is taken inside ours, never the other way)
	now := s.base.now()
	pruneMemoriesLocked(s, now)
	s.ended[id] = now
}

// foreignFor is how long a request claimed by another live sidecar is left
// alone before its claim is looked at again (its holder may die meanwhile).
const foreignFor = coord.HeartbeatTTL / 2

// markForeign notes that another sidecar runs the request (or another run
// of this sidecar's name holds it): it is left alone until then.
func (s *Runner) markForeign(id string, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.foreign[id] = until
}
