package sidecar

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// progressEvery is how often a running request's progress is written; SPEC
// asks for at least every 5 s.
const progressEvery = 2 * time.Second

// handle takes one request from claim to answer. It writes no terminal
// state if ctx ends first: the request is resumed after a restart.
func (s *Sidecar) handle(ctx context.Context, p PendingRequest) {
	r, ok := s.pickUp(ctx, p)
	if !ok {
		return
	}
	s.svc.fault("claimed")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.cancels[r.ID] = cancel
	s.mu.Unlock()
	rows := s.startRunningRows(ctx, r)
	defer rows.flush()
	if !s.startExecuting(ctx, r, p.Latest, rows) {
		return
	}
	defer func() { <-s.executing }()
	defer s.dbLock(r.Database).Unlock()
	state, entry := s.execute(ctx, r, p.Latest, rows)
	// The answer does not wait for a progress row still being written (a
	// busy server can take a few hundred ms to store one): readers take
	// the newest row by its time, and the answer's is the newest.
	if ctx.Err() != nil && state == StateFailed {
		s.logger.Info("stopping: request left to resume", "request", r.ID)
		return
	}
	// The catalog first, then the answer: whoever sees "succeeded" finds
	// the backup in clickvault.backups (executeBackup writes its row) or
	// the cleanup's deletions. The full mirror, which rereads S3, runs
	// after a backup's answer so the requester does not wait for it.
	if r.Action == ActionCleanup {
		s.mirror(ctx, r.Database)
	}
	s.record(ctx, r, state, entry)
	if r.Action == ActionBackup {
		s.mirror(ctx, r.Database)
	}
}

// pickUp admits and claims a request (startExecuting records it). It
// reports false when the request is not (or not yet) this sidecar's to run.
// Junk is refused by precheck, which needs no I/O, so a flood of bad rows
// costs no S3 write at all. A plausible request is claimed (S3) while
// ClickHouse checks it, both at once; if that check rejects it, the claim
// is deleted once the rejection is written. A request that was running
// before a restart was admitted then and is only claimed again, to be
// adopted.
func (s *Sidecar) pickUp(ctx context.Context, p PendingRequest) (Request, bool) {
	if !acquire(ctx, s.admitting) {
		return p.Request, false
	}
	defer func() { <-s.admitting }()
	resuming := p.Latest != nil && p.Latest.State == StateRunning
	r, err := s.precheck(p.Request)
	if err != nil && !resuming {
		s.refuse(ctx, r, err, false)
		return r, false
	}
	var won bool
	var claimErr, admitErr error
	var both errgroup.Group
	both.Go(func() error { won, claimErr = s.claim(ctx, p.ID); return nil })
	if !resuming {
		both.Go(func() error { r, admitErr = s.admit(ctx, p.Request); return nil })
	}
	_ = both.Wait()
	switch {
	case claimErr != nil:
		s.logger.Warn("claim request; will retry", "request", p.ID, "err", claimErr)
		return r, false
	case !won:
		s.markForeign(p.ID) // another sidecar runs it
		return r, false
	case admitErr != nil:
		s.refuse(ctx, r, admitErr, true)
		return r, false
	}
	return r, true
}

// refuse handles an admission that did not say yes: a rejection is queued
// for the batch writer (by the sidecar that claimed the request, or else by
// the one live sidecar that owns its rejection), an error ClickHouse keeps
// answering rejects the request after maxAdmitRefusals, any other error is
// retried on a later poll.
func (s *Sidecar) refuse(ctx context.Context, r Request, err error, claimed bool) {
	msg := ""
	switch {
	case errors.Is(err, ErrRejected):
		msg = rejectionReason(err)
	case s.admitRefusedAgain(r.ID, err):
		msg = fmt.Sprintf("could not be checked: ClickHouse refused it %d times: %v", maxAdmitRefusals, err)
	default:
		s.logger.Warn("admit request; will retry", "request", r.ID, "err", err)
		return
	}
	if !claimed && !s.ownsRejection(r.ID) {
		return // another live sidecar answers it
	}
	s.logger.Info("request rejected", "request", r.ID, "by", r.Requester(), "reason", msg)
	s.rejectLater(ctx, r, msg, claimed)
}

// maxAdmitRefusals is how often ClickHouse may refuse a request's admission
// checks before the request is rejected: an answer that does not change
// would otherwise be retried forever.
const maxAdmitRefusals = 3

// admitRefusedAgain counts an admission error ClickHouse answered (not one
// reaching it, which may pass) and reports whether the request has had its
// last try.
func (s *Sidecar) admitRefusedAgain(id string, err error) bool {
	if !errors.Is(err, ErrRefused) {
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

// startExecuting waits for the request's database and an execution slot,
// and records the request queued and running. A new request that need not
// wait gets both rows in one INSERT, written while it runs; one that waits
// is recorded queued first. On true the caller holds the database lock and
// the slot.
func (s *Sidecar) startExecuting(ctx context.Context, r Request, latest *LogEntry, rows *runningRows) bool {
	lock := s.dbLock(r.Database)
	fresh := latest == nil
	locked := lock.TryLock()
	slotted := locked && tryAcquire(s.executing)
	if fresh && !slotted {
		s.record(ctx, r, StateQueued, LogEntry{})
	}
	if !locked {
		lock.Lock()
	}
	if !slotted && (ctx.Err() != nil || !acquire(ctx, s.executing)) {
		lock.Unlock()
		return false
	}
	// Rights may have been revoked while it waited (or before a restart):
	// check them again right before it starts.
	waited := !fresh || !slotted
	if waited && !s.stillAuthorized(ctx, r) {
		<-s.executing
		lock.Unlock()
		return false
	}
	if !s.beginExecuting(ctx, r.ID) {
		<-s.executing
		lock.Unlock()
		return false
	}
	switch {
	case fresh && slotted:
		s.recordStarted(r, true, rows)
	case fresh || latest.State == StateQueued:
		s.recordStarted(r, false, rows)
	}
	return true
}

// stillAuthorized checks a request's rights again. A refusal is its answer;
// a failure to read the grants leaves it queued, to be picked up again.
func (s *Sidecar) stillAuthorized(ctx context.Context, r Request) bool {
	err := s.authorize(ctx, r)
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrRejected):
		msg := rejectionReason(err) + " (checked again when it was about to start)"
		s.logger.Info("request rejected before it started", "request", r.ID, "by", r.Requester(), "reason", msg)
		s.record(ctx, r, StateRejected, LogEntry{Message: msg})
	default:
		s.logger.Warn("check rights again before starting; will retry", "request", r.ID, "err", err)
	}
	return false
}

// beginExecuting makes a request no longer cancellable, unless a cancel
// came first. Both happen under s.mu, so a cancel either stops a request
// before it runs or finds it running and refuses.
func (s *Sidecar) beginExecuting(ctx context.Context, id string) bool {
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
func (s *Sidecar) recordStarted(r Request, queuedToo bool, rows *runningRows) {
	states := []string{StateRunning}
	if queuedToo {
		states = []string{StateQueued, StateRunning}
	}
	at := s.now().UTC()
	var entries []LogEntry
	for i, state := range states {
		entries = append(entries, s.logEntry(r, state, LogEntry{At: at.Add(time.Duration(i) * time.Microsecond)}))
	}
	entries[len(entries)-1].Message = "started"
	rows.add(entries...)
	for _, state := range states {
		s.obs.RequestState(r.Action, state)
	}
}

// execute runs an admitted request and says how it ended. latest is the
// request's newest log entry from before a restart, if any.
func (s *Sidecar) execute(ctx context.Context, r Request, latest *LogEntry, rows *runningRows) (string, LogEntry) {
	progress := s.progressWriter(r, rows)
	switch r.Action {
	case ActionBackup:
		return s.executeBackup(ctx, r, latest, rows, progress)
	case ActionRestore:
		return s.executeRestore(ctx, r, latest, rows, progress)
	case ActionVerify:
		res, err := s.svc.Verify(ctx, r.Database, r.Backup, progress)
		if err != nil {
			return StateFailed, LogEntry{Backup: res.Backup.Name, Message: err.Error()}
		}
		return StateSucceeded, LogEntry{Backup: res.Backup.Name,
			Message: fmt.Sprintf("verified: %d tables restored with the row counts of the metadata", len(res.Tables))}
	case ActionCleanup:
		rep, err := s.svc.Cleanup(ctx, r.Database, r.DryRun)
		msg := cleanupMessage(rep)
		if err != nil {
			return StateFailed, LogEntry{Message: msg + "; " + err.Error()}
		}
		return StateSucceeded, LogEntry{Message: msg}
	case ActionCancel:
		return s.executeCancel(ctx, r)
	}
	return StateFailed, LogEntry{Message: "unknown action " + r.Action}
}

func (s *Sidecar) executeBackup(ctx context.Context, r Request, latest *LogEntry, rows *runningRows, progress ProgressFunc) (string, LogEntry) {
	start := s.now()
	var b Backup
	var err error
	// The backup's row of clickvault.backups is written as soon as its
	// outcome is in the metadata, while the index and lease are written.
	var mirror errgroup.Group
	settled := func(b Backup) { mirror.Go(func() error { s.mirrorBackup(ctx, b); return nil }) }
	if latest != nil && latest.State == StateRunning && latest.Backup != "" {
		s.logger.Info("resuming a backup started before a restart", "request", r.ID, "backup", latest.Backup)
		b, err = s.svc.Adopt(ctx, r.Database, latest.Backup, progress)
		settled(b)
	} else {
		kind, _ := ParseKind(r.Kind)
		b, err = s.svc.Backup(ctx, BackupRequest{Database: r.Database, Kind: kind, RequestID: r.ID,
			RequestedBy: r.Requester(), Progress: progress, WaitForLease: true,
			Started: func(b Backup) {
				rows.add(s.logEntry(r, StateRunning, LogEntry{Backup: b.Name, OperationID: b.BackupID,
					Message: fmt.Sprintf("%s backup started", b.Kind)}))
			},
			Settled: settled})
	}
	_ = mirror.Wait()
	if ctx.Err() == nil {
		s.obs.BackupFinished(r.Database, string(b.Kind), err == nil, s.now().Sub(start), b.TotalSize)
	}
	if err != nil {
		return StateFailed, LogEntry{Backup: b.Name, Message: err.Error()}
	}
	return StateSucceeded, LogEntry{Backup: b.Name, NumFiles: b.NumFiles, TotalSize: b.TotalSize,
		Message: fmt.Sprintf("%s backup %s completed (chain %s, base %s)", b.Kind, b.Name, b.Chain, orNone(b.Base))}
}

func (s *Sidecar) executeRestore(ctx context.Context, r Request, latest *LogEntry, rows *runningRows, progress ProgressFunc) (string, LogEntry) {
	var res RestoreResult
	var err error
	if latest != nil && latest.State == StateRunning && latest.OperationID != "" {
		res, err = s.svc.AdoptRestore(ctx, latest.OperationID, latest.Backup, r.Target, progress)
	} else {
		var asOf time.Time
		if r.AsOf != nil {
			asOf = *r.AsOf
		}
		res, err = s.svc.Restore(ctx, RestoreRequest{Database: r.Database, Backup: r.Backup, AsOf: asOf,
			Target: r.Target, RequestID: r.ID, RequestedBy: r.Requester(), Progress: progress,
			Started: func(b Backup, operationID string) {
				rows.add(s.logEntry(r, StateRunning, LogEntry{Backup: b.Name, OperationID: operationID,
					Message: "restore into " + r.Target + " started"}))
			}})
	}
	if err != nil {
		return StateFailed, LogEntry{Backup: res.Backup.Name, Message: err.Error()}
	}
	var restored uint64
	for _, n := range res.Tables {
		restored += n
	}
	return StateSucceeded, LogEntry{Backup: res.Backup.Name, TotalSize: res.Backup.TotalSize,
		Message: fmt.Sprintf("restored %s into %s: %d tables, %d rows", res.Backup.Name, res.Target, len(res.Tables), restored)}
}

// progressWriter writes a running row with the operation's progress at most
// every progressEvery. The first comes progressEvery in: the row that says
// the operation started is news enough, and a quick operation then writes
// no progress row at all.
func (s *Sidecar) progressWriter(r Request, rows *runningRows) ProgressFunc {
	var mu sync.Mutex
	last := s.now()
	return func(p Progress) {
		mu.Lock()
		if s.now().Sub(last) < progressEvery {
			mu.Unlock()
			return
		}
		last = s.now()
		mu.Unlock()
		rows.progress(s.logEntry(r, StateRunning, LogEntry{Backup: p.Backup, NumFiles: p.NumFiles, TotalSize: p.TotalSize,
			BytesRead: p.BytesRead, Message: fmt.Sprintf("%s %s: %s, %s", p.Operation, p.Backup, p.Status, p.Elapsed.Round(time.Second))}))
	}
}

func cleanupMessage(r CleanupReport) string {
	verb := "deleted"
	names := r.Deleted
	if r.DryRun {
		verb = "would delete"
		names = nil
		for _, d := range r.Planned {
			names = append(names, d.Backup.Name)
		}
	}
	msg := fmt.Sprintf("%s %d backups", verb, len(names))
	if len(names) > 0 {
		msg += ": " + strings.Join(names, ", ")
	}
	if len(r.Orphans) > 0 {
		msg += fmt.Sprintf("; %d orphans reported, not deleted", len(r.Orphans))
	}
	return msg
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
