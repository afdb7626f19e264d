package control

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

// executor runs an admitted request through the engine and says how it
// ended; a cancel is the Runner's (cancel), as it stops what runs here.
type executor struct {
	*base
	admission *admission     // the rights an include takes, asked once the plan is read
	catalog   *catalogMirror // a backup's catalog row, written as soon as it settles
	cancel    func(context.Context, Job) (State, LogEntry)
	// turns bounds the BACKUPs ClickHouse writes at once (Options.ParallelBackups).
	turns sidecar.Turns
}

// afterAnswer is what a request's run leaves for the work after its
// answer: the catalog a backup wrote, for the mirror and the schedule.
type afterAnswer struct {
	written *sidecar.WrittenCatalog
}

// execute runs an admitted request and says how it ended. latest is the
// request's newest log entry from before a restart, if any.
func (s *executor) execute(ctx context.Context, r Job, latest *LogEntry, rows *runningRows, after *afterAnswer) (State, LogEntry) {
	ctx = sidecar.WithRequestID(ctx, r.ID) // the pins a verify or check takes name the request
	progress := s.progressWriter(r.Request, rows)
	switch r.Action {
	case ActionBackup:
		return s.executeBackup(ctx, r, latest, rows, progress, after)
	case ActionRestore:
		return s.executeRestore(ctx, r, latest, rows, progress)
	case ActionVerify:
		return s.executeVerify(ctx, r, progress)
	case ActionCleanup:
		if s.opts.Sets != nil {
			return s.executeSetCleanup(ctx, r)
		}
		return s.executeCleanup(ctx, r)
	case ActionCheck:
		return s.executeCheck(ctx, r)
	case ActionCancel:
		return s.cancel(ctx, r)
	}
	return StateFailed, LogEntry{Message: "unknown action " + string(r.Action)}
}

// executeVerify verifies a backup read from its source (the primary, a
// copy target named, or the copy the primary's failure fell back on).
func (s *executor) executeVerify(ctx context.Context, r Job, progress sidecar.ProgressFunc) (State, LogEntry) {
	src, err := s.readFrom(ctx, r)
	if err != nil {
		return StateFailed, LogEntry{Backup: r.Backup, Message: err.Error()}
	}
	backup, asOf := src.Pinned(r.Backup, r.AsOf)
	if backup == "" && !asOf.IsZero() {
		// Verify takes a name: as_of, checked at admission, picks it here,
		// in the source read, or the newest would be verified instead.
		b, err := src.Service.ChooseBackup(ctx, r.Database, "", asOf)
		if err != nil {
			return StateFailed, LogEntry{Message: err.Error() + sourceNote(src)}
		}
		backup = b.Name
	}
	res, err := src.Service.Verify(ctx, r.Database, backup, progress)
	if ctx.Err() == nil && src.Name == "" { // the metric is the primary's: a copy's verify must not hide its failure
		s.obs.VerifyFinished(r.Database, err == nil, res.RestoreTook)
	}
	if err != nil {
		return StateFailed, LogEntry{Backup: res.Backup.Name, Message: verifyMessage(res, err) + sourceNote(src)}
	}
	return StateSucceeded, LogEntry{Backup: res.Backup.Name, Message: verifyMessage(res, nil) + sourceNote(src)}
}

// sourceNote says, in an answer, which copy target a backup was read
// from, and why when nobody named it; or why the primary was read
// although its backup did not pass the check.
func sourceNote(src sidecar.Source) string {
	switch {
	case src.Name == "" && src.Why != "":
		return "; read from the primary all the same: " + src.Why
	case src.Name == "":
		return ""
	case src.Why == "":
		return "; read from copy target " + src.Name
	}
	return "; read from copy target " + src.Name + ", because " + src.Why
}

// executeCleanup applies retention to the primary, or to the copy target
// the request names (by that target's own rules).
func (s *executor) executeCleanup(ctx context.Context, r Job) (State, LogEntry) {
	svc, err := s.repository(ctx, r)
	if err != nil {
		return StateFailed, LogEntry{Message: err.Error()}
	}
	rep, err := svc.Cleanup(ctx, r.Database, r.DryRun)
	msg := cleanupMessage(rep) + repositoryNote(r)
	if err != nil {
		return StateFailed, LogEntry{Message: msg + "; " + err.Error()}
	}
	return StateSucceeded, LogEntry{Message: msg}
}

// executeCheck checks the primary's backups, or the copy target's the
// request names.
func (s *executor) executeCheck(ctx context.Context, r Job) (State, LogEntry) {
	svc, err := s.repository(ctx, r)
	if err != nil {
		return StateFailed, LogEntry{Backup: r.Backup, Message: err.Error()}
	}
	rep, err := svc.Check(ctx, r.Database, r.Backup)
	if r.Request.Source == "" { // the metric is the primary's
		s.obs.CheckFinished(r.Database, err == nil)
	}
	if err != nil && !errors.Is(err, model.ErrBroken) {
		return StateFailed, LogEntry{Backup: r.Backup, Message: err.Error()}
	}
	state := StateSucceeded
	if err != nil {
		state = StateFailed
	}
	return state, LogEntry{Backup: r.Backup, Message: checkMessage(rep) + repositoryNote(r)}
}

// repositoryNote says, in a check's or cleanup's answer, the copy target
// it acted on ("" for the primary).
func repositoryNote(r Job) string {
	if r.Request.Source == "" {
		return ""
	}
	return "; on copy target " + r.Request.Source
}

// verifyMessage says what a verify found: every table as the backup has
// it, or the first table that is not.
func verifyMessage(res model.VerifyResult, err error) string {
	if err == nil {
		return fmt.Sprintf("verified: %d tables restored with the rows of the backup's parts, CHECK TABLE passed; restore took %.1fs",
			len(res.Tables), res.RestoreTook.Seconds())
	}
	for _, t := range res.Tables {
		switch {
		case t.Missing:
			return fmt.Sprintf("%v: table %s was not restored", err, t.Table)
		case t.CheckTable != "":
			return fmt.Sprintf("%v: table %s: %s", err, t.Table, t.CheckTable)
		case t.Failed():
			return fmt.Sprintf("%v: table %s has %d rows restored, the backup %d", err, t.Table, t.Restored, t.Expected)
		}
	}
	return err.Error()
}

// checkMessage says what a check found: all good, or how many are broken
// and the first problem, which names the object.
func checkMessage(rep model.CheckReport) string {
	msg := fmt.Sprintf("checked %d backups of %s (%d objects present with their sizes, no data read)",
		len(rep.Backups), rep.Database, rep.Objects)
	n := rep.Broken()
	if n == 0 {
		return msg + ": all good"
	}
	first := rep.FirstBroken()
	return fmt.Sprintf("%s: %d broken; first %s: %s", msg, n, first.Backup.Name, first.Problem)
}

func (s *executor) executeBackup(ctx context.Context, r Job, latest *LogEntry, rows *runningRows, progress sidecar.ProgressFunc,
	after *afterAnswer) (State, LogEntry) {
	if s.opts.Sets != nil {
		return s.executeSet(ctx, r, latest, rows)
	}
	start := s.now()
	var b model.Backup
	var err error
	// The backup's rows of clickvault.backups — running once it starts,
	// its outcome once settled — are written by one writer, in the order
	// the engine sends them, in the background: the engine, which sends
	// them while it holds the lease, never waits for ClickHouse, and the
	// settled row is never overtaken by the running one.
	catalogRows := make(chan model.Backup, 4) // Started (once per send: at most three) and Settled
	var writer errgroup.Group
	writer.Go(func() error {
		for b := range catalogRows {
			s.catalog.mirrorBackup(ctx, b)
		}
		return nil
	})
	settled := func(b model.Backup) { catalogRows <- b }
	adopted := adoptable(r, latest)
	if adopted {
		s.logger.Info("resuming a backup started before a restart", "request", r.ID, "backup", latest.Backup)
		b, err = s.svc.Adopt(ctx, r.Database, latest.Backup, sidecar.Requester{RequestID: r.ID, RequestedBy: r.Requester()}, progress, s.turns)
		if adopted = !errors.Is(err, sidecar.ErrBackupGone); adopted {
			settled(b)
		} else {
			s.logger.Info("the backup started before the restart never reached ClickHouse: taking it anew",
				"request", r.ID, "backup", latest.Backup)
		}
	}
	if !adopted {
		b, err = s.svc.Backup(ctx, sidecar.BackupRequest{Database: r.DB, Kind: r.Kind, Tables: r.Set, RequestID: r.ID,
			RequestedBy: r.Requester(), Progress: progress, WaitForLease: true, Turns: s.turns, Resumable: true,
			Started: func(b model.Backup) {
				rows.add(s.logEntry(r.Request, StateRunning, LogEntry{Backup: b.Name, OperationID: b.BackupID,
					Message: fmt.Sprintf("%s backup started", b.Kind)}))
				// The catalog shows the backup running at once, so the
				// status page and SELECTs see it.
				catalogRows <- b
			},
			Settled: settled,
			Indexed: func(w sidecar.WrittenCatalog) { after.written = &w }})
	}
	close(catalogRows)
	_ = writer.Wait()
	if ctx.Err() == nil {
		s.obs.BackupFinished(r.Database, string(b.Kind), err == nil, s.now().Sub(start), b.StoredBytes())
		if err == nil && b.FullForced {
			s.obs.FullForced(r.Database)
		}
	}
	if err != nil {
		return StateFailed, LogEntry{Backup: b.Name, Message: err.Error()}
	}
	return StateSucceeded, LogEntry{Backup: b.Name, NumFiles: b.NumFiles, TotalSize: b.TotalSize,
		Message: fmt.Sprintf("%s backup %s completed (chain %s, base %s)%s", b.Kind, b.Name, b.Chain, orNone(b.Base), forcedWhy(b))}
}

// forcedWhy says, for a full taken instead of the incremental its chain
// would have had, why ("" for any other backup).
func forcedWhy(b model.Backup) string {
	if !b.FullForced {
		return ""
	}
	return "; a full, not an incremental: " + b.KindReason
}

func (s *executor) executeRestore(ctx context.Context, r Job, latest *LogEntry, rows *runningRows, progress sidecar.ProgressFunc) (State, LogEntry) {
	if s.opts.Sets != nil {
		return s.executeSetRestore(ctx, r, latest, rows)
	}
	src, err := s.restoreSource(ctx, r, latest)
	if err != nil {
		return StateFailed, LogEntry{Backup: r.Backup, Message: err.Error()}
	}
	r.Backup, r.AsOf = src.Pinned(r.Backup, r.AsOf)
	res, err := s.runRestore(ctx, src.Service, r, latest, rows, progress)
	switch {
	case errors.Is(err, model.ErrConsumers), errors.Is(err, model.ErrSidecarRights):
		// The plan refused it before anything was created: a refusal, as
		// at admission, with the tables named and how to go on.
		return StateRejected, LogEntry{Backup: res.Backup.Name, Message: err.Error()}
	case errors.Is(err, ErrRejected):
		// The requester may not include what the plan names (include_rights.go).
		return StateRejected, LogEntry{Backup: res.Backup.Name, Message: rejectionReason(err)}
	case err != nil:
		return StateFailed, LogEntry{Backup: res.Backup.Name, Message: err.Error() + sourceNote(src)}
	case r.DryRun && res.Plan != nil:
		return StateSucceeded, LogEntry{Backup: res.Backup.Name, Message: dryRunMessage(*res.Plan) + sourceNote(src)}
	}
	var restored uint64
	for _, n := range res.Tables {
		restored += n
	}
	return StateSucceeded, LogEntry{Backup: res.Backup.Name, TotalSize: res.Backup.TotalSize,
		Message: restoreMessage(r, res, restored) + sourceNote(src)}
}

// restoreSource is where a restore reads its backup: where admission
// found it, or, for a request a run before a restart started with no
// source named, where that run read (its work record is there), else
// chosen again.
func (s *executor) restoreSource(ctx context.Context, r Job, latest *LogEntry) (sidecar.Source, error) {
	if r.ChosenSource == nil && r.Request.Source == "" && s.opts.CopyReaders != nil {
		operationID := ""
		if latest != nil {
			operationID = latest.OperationID
		}
		if src, ok := sidecar.WorkSource(ctx, s.svc, s.opts.CopyReaders, r.ID, operationID); ok {
			return src, nil
		}
	}
	return s.readFrom(ctx, r)
}

// runRestore runs (or, after a restart, adopts) a restore with the engine
// of its source.
func (s *executor) runRestore(ctx context.Context, svc *sidecar.Service, r Job, latest *LogEntry, rows *runningRows,
	progress sidecar.ProgressFunc) (model.RestoreResult, error) {
	if adoptable(r, latest) {
		return svc.AdoptRestore(ctx, latest.OperationID, latest.Backup, r.Target, progress)
	}
	return svc.Restore(ctx, sidecar.RestoreRequest{Database: r.Database, Backup: r.Backup, AsOf: r.AsOf,
		Tables: r.Restores, Partitions: r.Partitions, Mode: r.RestoreMode, Consumers: r.Consumers, DryRun: r.DryRun,
		Target: r.Target, RequestID: r.ID, RequestedBy: r.Requester(), Progress: progress, Permit: s.admission.includePermit(r),
		Started: func(b model.Backup, operationID string) {
			rows.add(s.logEntry(r.Request, StateRunning, LogEntry{Backup: b.Name, OperationID: operationID,
				Message: "restore into " + r.Target + " started"}))
		}})
}

// progressWriter writes a running row with the operation's progress at most
// every progressEvery. The first comes progressEvery in: the row that says
// the operation started is news enough, and a quick operation then writes
// no progress row at all.
func (s *executor) progressWriter(r Request, rows *runningRows) sidecar.ProgressFunc {
	var mu sync.Mutex
	last := s.now()
	return func(p sidecar.Progress) {
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

func cleanupMessage(r sidecar.CleanupReport) string {
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
	for _, note := range r.PinNotes() {
		msg += "; " + note
	}
	if note := r.LockSummary(); note != "" {
		msg += "; " + note
	}
	return msg
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func restoreMessage(r Job, res model.RestoreResult, rows uint64) string {
	what := "restored"
	if r.RestoreMode == model.ModeSchema {
		what = "restored the definitions (no data) of"
	}
	if len(r.Restores) == 0 {
		return fmt.Sprintf("%s %s into %s: %d tables, %d rows", what, res.Backup.Name, res.Target, len(res.Tables), rows) +
			planNotes(res.Plan)
	}
	names := make([]string, len(r.Restores))
	for i, t := range r.Restores {
		names[i] = t.Target
		if t.Source != t.Target {
			names[i] = t.Source + " as " + t.Target
		}
	}
	msg := fmt.Sprintf("%s %s from %s into %s: %d rows", what, strings.Join(names, ", "), res.Backup.Name, res.Target, rows)
	if len(r.Partitions) > 0 {
		msg += fmt.Sprintf(" (partitions %s)", strings.Join(r.Partitions, ", "))
	}
	switch {
	case r.RestoreMode == model.ModeReplace && len(r.Partitions) > 0:
		msg += "; those partitions were restored into a staging table, checked against the backup and swapped in " +
			"(REPLACE PARTITION); the table's other partitions were not touched"
	case r.RestoreMode == model.ModeReplace:
		msg += "; each existing table of those names was replaced atomically: restored beside it into a staging table, " +
			"checked against the backup, swapped in (EXCHANGE TABLES), and the old table dropped"
	}
	return msg + planNotes(res.Plan)
}
