package control

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// progressEvery is how often a running request's progress is written; SPEC
// asks for at least every 5 s.
const progressEvery = 2 * time.Second

// handle takes one request from claim to answer. It writes no terminal
// state if ctx ends first: the request is resumed after a restart.
func (s *Runner) handle(ctx context.Context, p PendingRequest) {
	r, ok := s.pickUp(ctx, p)
	if !ok {
		return
	}
	s.base.fault("claimed")
	if r.Action == ActionCancel {
		s.handleCancel(ctx, r)
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.cancels[r.ID] = cancel
	s.mu.Unlock()
	rows := s.executor.startRunningRows(ctx, r.Request)
	defer rows.flush()
	if !s.startExecuting(ctx, r, p.Latest, rows) {
		return
	}
	release := sync.OnceFunc(func() { <-s.executing })
	defer release()
	defer s.databaseTurn(turnDatabase(r)).Unlock()
	var after afterAnswer
	state, entry := s.executor.execute(ctx, r, p.Latest, rows, &after)
	if after.written != nil { // before the answer: no pass after it reads the catalog again
		s.scheduler.recentBackup(after.written.Catalog)
	}
	// The answer does not wait for a progress row still being written (a
	// busy server can take a few hundred ms to store one): readers take
	// the newest row by its time, and the answer's is the newest.
	if ctx.Err() != nil && state == StateFailed {
		s.base.logger.Info("stopping: request left to resume", "request", r.ID)
		return
	}
	// The catalog first, then the answer: whoever sees "succeeded" finds
	// the backup in clickvault.backups (executeBackup writes its row) or
	// the cleanup's deletions. The full mirror runs after a backup's
	// answer so the requester does not wait for it; it takes the catalog
	// the backup wrote while no other writer came since (mirrorWith).
	if r.Action == ActionCleanup || r.Action == ActionCheck || r.Action == ActionVerify {
		s.catalogMirror.mirror(ctx, r.Database)
	}
	switch r.Action { // on a cluster node only: a set's answer finds it in set_catalog, a cleanup's its marks
	case ActionBackup:
		s.catalogMirror.mirrorSetsOf(ctx, r.Database, false)
	case ActionCleanup:
		s.catalogMirror.mirrorSetsOf(ctx, r.Database, true)
	}
	s.record(ctx, r.Request, state, entry)
	if r.Action == ActionBackup && acquire(ctx, s.mirroring) {
		// The worker goes to the next request now: in a round of many
		// databases, each backup's mirror held one for its S3 and
		// ClickHouse reads. The database's turn is kept, so no other
		// request of it runs until its catalog is mirrored.
		release()
		s.catalogMirror.mirrorWith(ctx, r.Database, nil, after.written)
		<-s.mirroring
	}
}

// handleCancel answers a cancel at once: it takes no execution slot and
// no database's turn, so it stops a queued request even while every worker
// is busy (and never waits behind the work it should stop). Its rights
// were checked as a cancel's at admission: the requester of the request
// it names, or the operator.
func (s *Runner) handleCancel(ctx context.Context, r Job) {
	if !s.beginExecuting(ctx, r.ID) {
		return
	}
	state, entry := s.executeCancel(ctx, r)
	if ctx.Err() != nil && state == StateFailed {
		return // answered after a restart
	}
	s.record(ctx, r.Request, state, entry)
}

// pickUp admits and claims a request (startExecuting records it). It
// reports false when the request is not (or not yet) this sidecar's to run.
// Junk is refused by parseJob, which needs no I/O, so a flood of bad rows
// costs no S3 write at all; a plausible request is admitted (ClickHouse)
// and only then claimed (S3), so a rejected one writes nothing to S3
// either. A request that was running before a restart was admitted then
// and is only claimed again, to be adopted.
func (s *Runner) pickUp(ctx context.Context, p PendingRequest) (Job, bool) {
	if !acquire(ctx, s.admitting) {
		return Job{Request: p.Request}, false
	}
	defer func() { <-s.admitting }()
	resuming := p.Latest != nil && p.Latest.State == StateRunning
	j, err := s.admission.parseJob(p.Request)
	if err != nil && !resuming {
		s.refuse(ctx, j.Request, err, false)
		return j, false
	}
	// Admission first, then the claim: a rejected request writes nothing
	// to S3 (a resumed one was admitted before the restart).
	if !resuming {
		if j, err = s.admission.admit(ctx, j); err != nil {
			s.refuse(ctx, j.Request, err, false)
			return j, false
		}
	}
	won, err := s.base.claims.Claim(ctx, p.ID)
	var ownName *coord.OwnNameClaimError
	switch {
	case errors.As(err, &ownName):
		if !ownName.Twin { // a twin is named at ERROR by the heartbeat
			s.base.logger.Info("request claimed by another run of this sidecar's name (its run before a restart, or a twin); "+
				"taken once that run is seen gone", "request", p.ID, "run", ownName.Run, "next_look", ownName.Until)
		}
		s.markForeign(p.ID, ownName.Until)
		return j, false
	case err != nil:
		s.base.logger.Warn("claim request; will retry", "request", p.ID, "err", err)
		return j, false
	case !won:
		s.markForeign(p.ID, s.base.now().Add(foreignFor)) // another sidecar runs it
		return j, false
	}
	return j, true
}

// refuse handles an admission that did not say yes: a rejection is queued
// for the batch writer (by the sidecar that claimed the request, or else by
// the one live sidecar that owns its rejection), an error ClickHouse keeps
// answering rejects the request after maxAdmitRefusals, any other error is
// retried on a later poll.
func (s *Runner) refuse(ctx context.Context, r Request, err error, claimed bool) {
	msg := ""
	switch {
	case errors.Is(err, ErrRejected):
		msg = rejectionReason(err)
	case s.admitRefusedAgain(r.ID, err):
		msg = fmt.Sprintf("could not be checked: ClickHouse refused it %d times: %v", maxAdmitRefusals, err)
	default:
		s.base.logger.Warn("admit request; will retry", "request", r.ID, "err", err)
		return
	}
	if !claimed && !s.rejecter.ownsRejection(r.ID) {
		return // another live sidecar answers it
	}
	if !claimed && s.base.claims.TwinSeen() {
		answers, twinsUntil := s.rejecter.claimRejection(ctx, r.ID)
		if !twinsUntil.IsZero() {
			s.markForeign(r.ID, twinsUntil)
		}
		if !answers {
			return
		}
	}
	s.base.logger.Info("request rejected", "request", r.ID, "by", r.Requester(), "reason", msg)
	s.rejecter.rejectLater(ctx, r, msg, claimed)
}

// maxAdmitRefusals is how often ClickHouse may refuse a request's admission
// checks before the request is rejected: an answer that does not change
// would otherwise be retried forever.
const maxAdmitRefusals = 3

// admitRefusedAgain counts an admission error ClickHouse answered (not one
// reaching it, which may pass) and reports whether the request has had its
// last try.
func (s *Runner) admitRefusedAgain(id string, err error) bool {
	if !errors.Is(err, sidecar.ErrRefused) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.admitRefusals[id]++
	if s.admitRefusals[id] < maxAdmitRefusals {
		return false
	}
	delete(s.admitRefusals, id)
	return true
}

// adoptable reports whether a request running before a restart left an
// operation this run takes over rather than starts anew: a backup's name
// (executeBackup adopts it), a RESTORE's id (runRestore).
func adoptable(r Job, latest *LogEntry) bool {
	if latest == nil || latest.State != StateRunning {
		return false
	}
	switch r.Action {
	case ActionBackup:
		return latest.Backup != ""
	case ActionRestore:
		return latest.OperationID != ""
	}
	return false
}

// startExecuting waits for the request's database and an execution slot,
// and records the request queued and running. A new request that need not
// wait gets both rows in one INSERT, written while it runs; one that waits
// is recorded queued first. On true the caller holds the database's turn
// (turnDatabase's) and the slot.
func (s *Runner) startExecuting(ctx context.Context, r Job, latest *LogEntry, rows *runningRows) bool {
	turn := s.databaseTurn(turnDatabase(r))
	fresh := latest == nil
	ourTurn := turn.TryLock()
	slotted := ourTurn && tryAcquire(s.executing)
	if fresh && !slotted {
		s.record(ctx, r.Request, StateQueued, LogEntry{})
	}
	if !ourTurn {
		turn.Lock() // a cancel cannot wake this wait: the request gives up once its turn comes
	}
	if !slotted && (ctx.Err() != nil || !acquire(ctx, s.executing)) {
		turn.Unlock()
		return false
	}
	// Rights may have been revoked while it waited (or before a restart):
	// check them again right before it starts. One whose operation began
	// before a restart is adopted, never rejected: its BACKUP or RESTORE may
	// be running in ClickHouse (nothing would watch it, and "rejected" says
	// nothing ran). One marked running that left no operation starts anew,
	// so it is asked again like any that waited.
	waited := !fresh || !slotted
	if waited && !adoptable(r, latest) && !s.stillAuthorized(ctx, r) {
		<-s.executing
		turn.Unlock()
		return false
	}
	if !s.beginExecuting(ctx, r.ID) {
		<-s.executing
		turn.Unlock()
		return false
	}
	switch {
	case fresh && slotted:
		s.recordStarted(r.Request, true, rows)
	case fresh || latest.State == StateQueued:
		s.recordStarted(r.Request, false, rows)
	}
	return true
}

// stillAuthorized checks a request's rights again. A refusal is its answer;
// a failure to read the grants leaves it queued, to be picked up again.
func (s *Runner) stillAuthorized(ctx context.Context, r Job) bool {
	g := s.base.grantsOfJob(r) // read again, once for every right (the operator's: kept)
	var err error
	if r.Action == ActionRestore {
		// The target may have been created or dropped meanwhile: CREATE
		// DATABASE is needed exactly when it is missing now.
		r, _, err = s.admission.inspectTarget(ctx, r)
	}
	if err == nil {
		err = s.admission.authorize(ctx, g, r)
	}
	if err == nil { // a row policy or a wildcard SELECT may have come meanwhile
		err = s.admission.refuseRowPolicies(ctx, r)
	}
	if err == nil {
		err = s.admission.refuseReadableScratch(ctx, g, r)
	}
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrRejected):
		if !s.markEnded(r.ID) {
			return false // a cancel answered it meanwhile
		}
		msg := rejectionReason(err) + " (checked again when it was about to start)"
		s.base.logger.Info("request rejected before it started", "request", r.ID, "by", r.Requester(), "reason", msg)
		s.record(ctx, r.Request, StateRejected, LogEntry{Message: msg})
	default:
		s.base.logger.Warn("check rights again before starting; will retry", "request", r.ID, "err", err)
	}
	return false
}

// beginExecuting makes a request no longer cancellable, unless a cancel
// came first. Both happen under s.mu, so a cancel either stops a request
// before it runs or finds it running and refuses.
func (s *Runner) beginExecuting(ctx context.Context, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ended := s.ended[id]; ended || ctx.Err() != nil {
		return false
	}
	delete(s.cancels, id)
	s.running[id] = true
	return true
}

// recordStarted queues the running row, after a queued row in the same
// INSERT when queuedToo.
func (s *Runner) recordStarted(r Request, queuedToo bool, rows *runningRows) {
	states := []State{StateRunning}
	if queuedToo {
		states = []State{StateQueued, StateRunning}
	}
	at := s.base.now().UTC()
	var entries []LogEntry
	for i, state := range states {
		entries = append(entries, s.base.logEntry(r, state, LogEntry{At: at.Add(time.Duration(i) * time.Microsecond)}))
	}
	entries[len(entries)-1].Message = "started"
	rows.add(entries...)
	for _, state := range states {
		s.base.obs.RequestState(string(r.Action), state)
	}
}
