package control

import (
	"context"
	"fmt"
)

// executeCancel cancels a request that has not started running. One that
// runs is not interrupted: ClickHouse would go on with the BACKUP anyway.
func (s *Runner) executeCancel(ctx context.Context, r Job) (State, LogEntry) {
	st, err := s.base.cp.Status(ctx, r.Backup)
	if err != nil {
		return StateFailed, LogEntry{Message: err.Error()}
	}
	switch {
	case Terminal(st.State):
		return StateFailed, LogEntry{Message: fmt.Sprintf("request %s has already ended (%s)", r.Backup, st.State)}
	case st.State == StateRunning:
		return StateFailed, LogEntry{Message: fmt.Sprintf("request %s is already running and cannot be cancelled", r.Backup)}
	}
	// The claim keeps other sidecars from starting it; it is re-entrant
	// for this one, so whether it runs here is decided under s.mu.
	won, err := s.base.claims.Claim(ctx, r.Backup)
	if err != nil {
		return StateFailed, LogEntry{Message: fmt.Sprintf("request %s could not be cancelled now (%v); try again", r.Backup, err)}
	}
	if !won {
		return StateFailed, LogEntry{Message: fmt.Sprintf("request %s is being handled by another sidecar", r.Backup)}
	}
	if !s.stopHere(r.Backup) {
		return StateFailed, LogEntry{Message: fmt.Sprintf("request %s is already being run and cannot be cancelled", r.Backup)}
	}
	target := Request{ID: st.ID, Action: st.Action, Database: st.Database}
	s.record(ctx, target, StateCancelled, LogEntry{Message: "cancelled by request " + r.ID})
	return StateSucceeded, LogEntry{Message: "cancelled request " + r.Backup}
}

// stopHere stops a request of this sidecar before it runs, and reports
// false for one already executing. It marks the request ended, so one not
// yet picked up never starts, and cancels its context: one waiting for an
// execution slot gives up at once; one waiting for its database's turn
// (databaseTurn, a sync.Mutex, which no cancel wakes) stays blocked until
// the request before it lets the turn go, then gives up without running.
// Either way its cancelled row is written by the cancel, now.
func (s *Runner) stopHere(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[id] {
		return false
	}
	if cancel := s.cancels[id]; cancel != nil {
		cancel()
	}
	s.markEndedLocked(id) // under the same lock as beginExecuting's check
	return true
}
