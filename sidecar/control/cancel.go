package control

import (
	"context"
	"errors"
	"fmt"

	"github.com/clickvault/clickvault/sidecar/coord"
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
	var ownName *coord.OwnNameClaimError
	if errors.As(err, &ownName) {
		return StateFailed, LogEntry{Message: "could not be cancelled now: " + ownName.Error()}
	}
	if err != nil {
		return StateFailed, LogEntry{Message: fmt.Sprintf("request %s could not be cancelled now (%v); try again", r.Backup, err)}
	}
	if !won {
		return StateFailed, LogEntry{Message: fmt.Sprintf("request %s is being handled by another sidecar", r.Backup)}
	}
	switch s.stopHere(r.Backup) {
	case alreadyRunning:
		return StateFailed, LogEntry{Message: fmt.Sprintf("request %s is already being run and cannot be cancelled", r.Backup)}
	case alreadyEnded:
		return StateFailed, LogEntry{Message: fmt.Sprintf("request %s has already ended (its answer is being written)", r.Backup)}
	}
	target := Request{ID: st.ID, Action: st.Action, Database: st.Database}
	s.record(ctx, target, StateCancelled, LogEntry{Message: "cancelled by request " + r.ID})
	return StateSucceeded, LogEntry{Message: "cancelled request " + r.Backup}
}

// stopOutcome is what stopHere did.
type stopOutcome int

const (
	stopped        stopOutcome = iota
	alreadyRunning             // executing: not interrupted
	alreadyEnded               // answered here, its row perhaps not yet written (a rejection is batched)
)

// stopHere stops a request of this sidecar before it runs. One already
// executing, or already ended here, is left as it is: it has (or is about
// to have) its one answer. Otherwise it marks the request ended, so one
// not yet picked up never starts, and cancels its context: one waiting for
// an execution slot gives up at once; one waiting for its database's turn
// (databaseTurn, a sync.Mutex, which no cancel wakes) stays blocked until
// the request before it lets the turn go, then gives up without running.
// Either way its cancelled row is written by the cancel, now.
func (s *Runner) stopHere(id string) stopOutcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[id] {
		return alreadyRunning
	}
	if _, ended := s.ended[id]; ended {
		return alreadyEnded
	}
	if cancel := s.cancels[id]; cancel != nil {
		cancel()
	}
	s.markEndedLocked(id) // under the same lock as beginExecuting's check
	return stopped
}
