package sidecar

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar/model"
)

// works keeps the work records of restores and verifies (restore_work.go)
// and, from them, finishes or undoes what a killed run left: a restore
// adopted after a restart, an earlier run of the same request, the sweep
// serve runs at start.
type works struct {
	*engine
	restorer *restorer
	replacer *replacer
}

// AdoptRestore waits for a RESTORE a previous run started and does what
// that run would have done after it, as its work record says: a replace's
// check and swap, or, when the RESTORE failed or ClickHouse forgot it, the
// removal of what the restore created.
func (s *works) AdoptRestore(ctx context.Context, operationID, backup, target string, progress ProgressFunc) (model.RestoreResult, error) {
	rec, err := s.readWork(ctx, operationID)
	if err != nil {
		s.logger.Warn("adopting a restore without its work record", "operation", operationID, "err", err)
		return s.adoptBare(ctx, operationID, backup, target, progress)
	}
	return s.adoptRecord(ctx, rec, progress)
}

func (s *works) adoptRecord(ctx context.Context, rec workRecord, progress ProgressFunc) (model.RestoreResult, error) {
	res := model.RestoreResult{Backup: model.Backup{Meta: model.Meta{Name: rec.Backup}}, Target: rec.Target}
	if rec.Undoing != "" && rec.Abandoned == "" {
		return res, finishUndo(ctx, s, rec)
	}
	w := s.adoptWork(ctx, rec)
	defer w.done(ctx)
	if rec.Abandoned != "" {
		return res, fmt.Errorf("the restore of %s into %s was not finished: %s; run it again if you still need it",
			rec.Backup, rec.Target, rec.Abandoned)
	}
	// The dead run's pin goes stale while ClickHouse still reads the
	// backup: this run pins it again, as a fresh restore does, so no
	// cleanup deletes the chain under the RESTORE it waits for.
	pin, err := s.TakePin(ctx, rec.Source, PinRestore, rec.RequestID)
	if err != nil {
		return res, err
	}
	defer pin.Release(ctx)
	pin.Narrow(ctx, rec.Backup)
	op, err := awaitLeftRestore(ctx, s.restorer, rec.ID, rec.Backup, rec.Target, progress)
	s.claimRestored(ctx, w, op)
	rec = w.record()
	checked := len(rec.Swaps) > 0 && rec.Swaps[0].StagingUUID != ""
	switch {
	case len(rec.Stopped) > 0 && !checked:
		// Its refreshable views are created from the plan, which this run
		// does not have; a restore without them is not the one asked for.
		return res, s.undo(ctx, rec, fmt.Errorf("the restore of %s into %s was interrupted before its refreshable "+
			"views (%s) were created stopped; run it again", rec.Backup, rec.Target, strings.Join(rec.Stopped, ", ")))
	case errors.Is(err, ErrNotFound) && !checked:
		return res, s.undo(ctx, rec, fmt.Errorf("the restore of %s into %s was interrupted (ClickHouse no longer knows operation %s)",
			rec.Backup, rec.Target, rec.ID))
	case err != nil && !errors.Is(err, ErrNotFound):
		return res, s.undo(ctx, rec, err)
	}
	b, err := s.restorer.ChooseBackup(ctx, rec.Source, rec.Backup, time.Time{})
	if err != nil {
		return res, s.undo(ctx, rec, fmt.Errorf("read backup %s to check the restored copy: %w", rec.Backup, err))
	}
	res.Backup = b
	if err := s.restorer.finishReplace(ctx, w, b); err != nil {
		return res, err
	}
	res.Tables, err = s.db.TableRows(ctx, rec.Target)
	return res, err
}

// adoptBare adopts a restore that has no work record (one an older version
// started, or whose record could not be written): it can only wait, and
// unpinned, since without the record it does not know the backup's
// database.
func (s *works) adoptBare(ctx context.Context, operationID, backup, target string, progress ProgressFunc) (model.RestoreResult, error) {
	res := model.RestoreResult{Backup: model.Backup{Meta: model.Meta{Name: backup}}, Target: target}
	_, err := awaitLeftRestore(ctx, s.restorer, operationID, backup, target, progress)
	if errors.Is(err, ErrNotFound) {
		return res, fmt.Errorf("the restore of %s into %s was interrupted (ClickHouse no longer knows operation %s); "+
			"check %s and drop it before restoring again", backup, target, operationID, target)
	}
	if err != nil {
		return res, err
	}
	res.Tables, err = s.db.TableRows(ctx, target)
	return res, err
}

// earlierAttempt finds the work record of an earlier run of the same
// request: a run killed after it sent its RESTORE but before the request's
// log said so, which the runner then starts again from the top.
func (s *works) earlierAttempt(ctx context.Context, req RestoreRequest) (workRecord, bool) {
	if req.RequestID == "" {
		return workRecord{}, false
	}
	ids, err := s.bucket.WorkIDs(ctx)
	if err != nil {
		s.logger.Warn("list work records; an earlier run of this restore is not looked for", "err", err)
		return workRecord{}, false
	}
	for _, id := range ids {
		rec, err := s.readWork(ctx, id)
		if err == nil && rec.Kind == workRestore && rec.RequestID == req.RequestID && rec.Deployment == s.opts.Deployment {
			return rec, true
		}
	}
	return workRecord{}, false
}

// restoreWorkOf finds the work record a run of request requestID (or of
// RESTORE operationID) left in this engine's bucket, and the backup it
// read; ok false when there is none.
func (s *works) restoreWorkOf(ctx context.Context, requestID, operationID string) (backup string, ok bool) {
	if operationID != "" {
		if rec, err := s.readWork(ctx, operationID); err == nil && rec.Kind == workRestore && rec.Deployment == s.opts.Deployment {
			return rec.Backup, true
		}
	}
	rec, ok := s.earlierAttempt(ctx, RestoreRequest{RequestID: requestID})
	return rec.Backup, ok
}

// resumeAttempt takes over an earlier run's RESTORE when ClickHouse has
// it: the request is answered by that RESTORE, not by a second one. What a
// RESTORE ClickHouse never got (the run was killed before sending it) or
// forgot (it restarted) created is removed as far as the record knows it
// (by UUID: however old the record, nothing created since is touched),
// and the request starts again (resumed false).
func (s *works) resumeAttempt(ctx context.Context, prev workRecord, req RestoreRequest) (res model.RestoreResult, resumed bool, err error) {
	_, err = s.db.Operation(ctx, prev.ID)
	if err == nil && prev.Abandoned == "" {
		s.logger.Info("resuming the restore an earlier run of this request started", "operation", prev.ID, "target", prev.Target)
		if req.Started != nil {
			req.Started(model.Backup{Meta: model.Meta{Name: prev.Backup}}, prev.ID)
		}
		res, err = s.adoptRecord(ctx, prev, req.Progress)
		return res, true, err
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return res, true, fmt.Errorf("look for the restore an earlier run of this request started: %w", err)
	}
	undone := s.undo(ctx, prev, errors.New("an earlier run of this request was interrupted"))
	s.logger.Info("an earlier run of this request left a restore ClickHouse does not run; starting again",
		"operation", prev.ID, "target", prev.Target, "cleanup", undone)
	_ = s.bucket.DeleteWork(ctx, prev.ID) // what it named is undone; a leftover record is swept later
	return res, false, nil
}

// finishUndo settles a restore whose undo a start-up sweep began and did
// not finish: it is never answered done (a table it restored may be gone).
// What is left is removed now, and the record marked abandoned; when that
// fails too, the record stays as it is for the next start's sweep. (A
// function, not a method: works keeps to 30 methods.)
func finishUndo(ctx context.Context, s *works, rec workRecord) error {
	cause := fmt.Errorf("the restore of %s into %s was not finished: %s", rec.Backup, rec.Target, rec.Undoing)
	what, err := s.settleAbandoned(ctx, rec)
	if err != nil {
		return fmt.Errorf("%w; removing what it created failed (the next start tries again): %w", cause, err)
	}
	rec.Abandoned = rec.Undoing + ": " + what
	if err := s.bucket.WriteWork(ctx, rec.ID, rec); err != nil {
		s.logger.Warn("mark an undone restore's work record abandoned", "operation", rec.ID, "err", err)
	}
	return fmt.Errorf("%w: %s; run it again if you still need it", cause, what)
}

// settleAbandoned finishes a replace whose swaps are all done, or undoes
// the restore, and says what it did: the start-up sweep's work on a
// restore nobody finished, and an adoption's when that sweep stopped
// half-way.
func (s *works) settleAbandoned(ctx context.Context, rec workRecord) (string, error) {
	objects, err := s.ops.Objects(ctx, rec.Target)
	if err != nil {
		return "", err
	}
	if rec.swapped(objects) {
		if err := s.finishStaging(ctx, rec); err != nil {
			return "", err
		}
		return "its swaps were done, so the replace is finished: the old tables are dropped", nil
	}
	u := s.undoRecord(ctx, rec)
	if len(u.errs) > 0 {
		return "", errors.Join(u.errs...)
	}
	return u.String(), nil
}
