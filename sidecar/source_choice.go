package sidecar

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar/model"
)

// CopyReaders are the [[copy]] targets as places a restore or verify may
// read a backup from (the primary is the caller's own engine), each as an
// engine of its own: its store, its layout, ClickHouse reading from it.
type CopyReaders interface {
	// Copies names the copy targets, in the configuration's order.
	Copies() []string
	// Copy is the engine reading backups from copy target name; an unknown
	// name is ErrUnknownCopyTarget.
	Copy(ctx context.Context, name string) (*Service, error)
}

// ErrUnknownCopyTarget is a name, given as a source or a copy target, that
// no [[copy]] target has; its errors are UnknownCopyTargetError.
var ErrUnknownCopyTarget = errors.New("no such copy target")

// UnknownCopyTargetError is a name, asked for as a source or a copy target
// by a request, a flag or an HTTP body, that no [[copy]] target has: every
// path says it in these words, naming the targets there are. It is
// ErrUnknownCopyTarget.
type UnknownCopyTargetError struct {
	Name    string
	Targets []string // the configured targets' names
}

func (e *UnknownCopyTargetError) Error() string {
	names := "none configured"
	if len(e.Targets) > 0 {
		names = strings.Join(e.Targets, ", ")
	}
	return fmt.Sprintf("no copy target %q in the configuration (targets: %s)", e.Name, names)
}

// Is makes the error ErrUnknownCopyTarget.
func (e *UnknownCopyTargetError) Is(target error) bool { return target == ErrUnknownCopyTarget }

// Source is where a backup is read from: the engine, the copy target's
// name ("" = the primary), and, when a copy was picked because the primary
// could not serve the backup, why (or, for the primary, why it is read
// all the same: its backup broken and no copy holding it sound).
type Source struct {
	Service *Service
	Name    string
	Why     string
	// Backup is the backup the choice settled on, when it settled one: a
	// copy's, picked in the primary's place (the one the primary found
	// broken, or the copy's own by name or as_of, checked sound) or found
	// in the copy named; or the one a run before a restart read
	// (WorkSource). The restore reads that one, not whatever is newest
	// there by then.
	Backup string
}

// Pinned is the backup and as_of a restore or verify asks src for: the
// backup src was picked for, when it was, else the request's own.
func (src Source) Pinned(backup string, asOf time.Time) (string, time.Time) {
	if src.Backup != "" {
		return src.Backup, time.Time{}
	}
	return backup, asOf
}

// BackupWanted is what a restore or verify asks for: a backup by name, or
// the newest completed at or before AsOf, holding Tables.
type BackupWanted struct {
	Database string
	Backup   string
	AsOf     time.Time
	Tables   []string
	// Sound has the primary's backup checked, when a copy target could
	// serve instead, the way check does (every object of its chain there
	// with its size, no data read): a restore's. A verify reads the
	// primary's as it is: finding a broken backup is what it is for.
	Sound bool
	// CopyLookWithin bounds the look at each copy target (0 = no bound,
	// the S3 client's own timeouts): a target that takes connections and
	// never answers then costs that long, and the next target is asked
	// with time of its own. One cut short is a target that could not be
	// read; a named one still serves (its run reads it again). The
	// primary's look is never bounded: a big bucket's listing is slow, not
	// silent.
	CopyLookWithin time.Duration
}

// copyLook is ctx bounded by w.CopyLookWithin, for one copy target's look.
func (w BackupWanted) copyLook(ctx context.Context) (context.Context, context.CancelFunc) {
	if w.CopyLookWithin <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, w.CopyLookWithin)
}

// ChooseSource finds where to read the backup w asks for. A named source
// is that copy target, whatever the primary holds. With none, the primary
// serves it when it can; when it cannot — its bucket unreachable, the
// backup missing or unusable there, or (w.Sound) broken or not to be
// checked — the first copy target that holds the backup (sound, for
// w.Sound) serves it, and Why says what the primary answered. A backup
// the primary holds is asked of the copies by its name: a lagging copy's
// older backup is not what the primary chose. When no copy holds it
// either, the primary's own error is returned; a backup the primary holds
// but could not show sound is read from the primary all the same (a
// RESTORE of tables whose objects are there succeeds, and a failed one is
// undone), with Why saying so and why no copy served.
func ChooseSource(ctx context.Context, primary *Service, targets CopyReaders, named string, w BackupWanted) (Source, error) {
	if named != "" {
		return backupAt(ctx, targets, named, w)
	}
	b, primaryErr := primary.ChooseBackup(ctx, w.Database, w.Backup, w.AsOf, w.Tables...)
	// A table the primary's backup lacks is the request's mistake, not the
	// primary's failure: an older copy that has it is not what was asked.
	if primaryErr != nil && (targets == nil || ctx.Err() != nil || errors.Is(primaryErr, model.ErrTableMissing)) {
		return Source{Service: primary}, primaryErr
	}
	if primaryErr == nil && (!w.Sound || targets == nil || len(targets.Copies()) == 0) {
		return Source{Service: primary}, nil
	}
	primaryHolds := primaryErr == nil // the primary holds it; only the check failed, if anything
	if primaryHolds {
		if primaryErr = soundBackup(ctx, primary, w.Database, b.Name); primaryErr == nil || ctx.Err() != nil {
			return Source{Service: primary, Backup: b.Name}, primaryErr // a check cut short is no verdict
		}
		// A copy serves this backup or none: not the copy's own newest at
		// or before as_of, older when the copy lags, which would silently
		// lose what the primary's backup holds beyond it.
		w.Backup, w.AsOf = b.Name, time.Time{}
	}
	src, unread := copySource(ctx, targets, w)
	switch {
	case src.Service != nil:
		src.Why = "the primary bucket could not serve it: " + model.FirstLine(primaryErr.Error())
		return src, nil
	case ctx.Err() != nil: // a copy's check cut short is no verdict either
		return Source{Service: primary}, fmt.Errorf("look for a copy target holding the backup of %s: %w", w.Database, ctx.Err())
	case primaryHolds:
		return Source{Service: primary, Backup: b.Name, Why: model.FirstLine(primaryErr.Error()) + ", and no copy target holds it sound" + unread}, nil
	case unread != "": // a target that could not say it lacks the backup may hold it: say what it answered
		primaryErr = fmt.Errorf("%w%s", primaryErr, unread)
	}
	return Source{Service: primary}, primaryErr
}

// WorkSource is where a restore that a run before a restart started read
// its backup: the place, the primary or a copy target, holding the work
// record that run left, with the backup it read. Choosing again could
// name another place (the primary serving a newer backup by then), where
// the run's RESTORE and record are not found: its target would be
// refused as not empty, its record left for a later sweep to undo a
// restore that was answered. ok is false when no place holds one.
func WorkSource(ctx context.Context, primary *Service, targets CopyReaders, requestID, operationID string) (Source, bool) {
	if backup, ok := primary.works.restoreWorkOf(ctx, requestID, operationID); ok {
		return Source{Service: primary, Backup: backup}, true
	}
	if targets == nil {
		return Source{}, false
	}
	for _, name := range targets.Copies() {
		svc, err := targets.Copy(ctx, name)
		if err != nil {
			continue
		}
		if backup, ok := svc.works.restoreWorkOf(ctx, requestID, operationID); ok {
			return Source{Service: svc, Name: name, Backup: backup, Why: "the restore read it there before the sidecar restarted"}, true
		}
	}
	return Source{}, false
}

// backupAt is copy target named as the source of the backup w asks for,
// which it must hold: a backup it lacks is the request's mistake, found
// before anything runs (model.ErrBackupMissing, ErrBackupUnusable or
// ErrTableMissing, saying where it was looked for).
func backupAt(ctx context.Context, targets CopyReaders, named string, w BackupWanted) (Source, error) {
	src, err := TargetNamed(ctx, targets, named)
	if err != nil {
		return src, err
	}
	look, cancel := w.copyLook(ctx)
	defer cancel()
	b, err := src.Service.ChooseBackup(look, w.Database, w.Backup, w.AsOf, w.Tables...)
	switch {
	case errors.Is(err, model.ErrBackupMissing), errors.Is(err, model.ErrBackupUnusable), errors.Is(err, model.ErrTableMissing):
		return src, fmt.Errorf("%w (in copy target %s)", err, named)
	case err != nil:
		// The target did not answer: the run reads it again and fails with
		// what it says then, so the request still gets its answer.
		return src, nil
	}
	src.Backup = b.Name
	return src, nil
}

// TargetNamed is the copy target a request, flag or body names, as a
// place to act on (a check or cleanup of it) or read from.
func TargetNamed(ctx context.Context, targets CopyReaders, named string) (Source, error) {
	if targets == nil || !slices.Contains(targets.Copies(), named) {
		unknown := &UnknownCopyTargetError{Name: named}
		if targets != nil {
			unknown.Targets = targets.Copies()
		}
		return Source{}, fmt.Errorf("source: %w", unknown)
	}
	svc, err := targets.Copy(ctx, named)
	if err != nil {
		return Source{}, fmt.Errorf("open copy target %s: %w", named, err)
	}
	return Source{Service: svc, Name: named}, nil
}

// copySource is the first copy target, in the configuration's order, that
// holds the backup w asks for (sound, for w.Sound); Service is nil when
// none does. unread says, for each target that did not merely lack the
// backup (it could not be read, or its copy is broken), what it answered
// ("" when none): a backup behind a copy target's wrong keys must not
// read as a backup that does not exist.
func copySource(ctx context.Context, targets CopyReaders, w BackupWanted) (src Source, unread string) {
	for _, name := range targets.Copies() {
		svc, b, err := lookAt(ctx, targets, name, w)
		switch {
		case err == nil:
			return Source{Service: svc, Name: name, Backup: b.Name}, ""
		case !errors.Is(err, model.ErrBackupMissing) && !errors.Is(err, model.ErrTableMissing):
			unread += fmt.Sprintf("; copy target %s: %s", name, model.FirstLine(err.Error()))
		}
	}
	return Source{}, unread
}

// soundBackup is nil when every object of backup name's chain is there
// with its size (checks.chainProblem); else it says what is not, or why
// that could not be told.
func soundBackup(ctx context.Context, svc *Service, database, name string) error {
	problem, err := svc.checks.chainProblem(ctx, database, name)
	switch {
	case err != nil:
		return fmt.Errorf("check backup %s before reading it: %w", name, err)
	case problem != "":
		return fmt.Errorf("backup %s is broken: %s", name, problem)
	}
	return nil
}

// lookAt is copy target name's engine and the backup w asks for there
// (sound, for w.Sound), looked for within w.CopyLookWithin.
func lookAt(ctx context.Context, targets CopyReaders, name string, w BackupWanted) (*Service, model.Backup, error) {
	look, cancel := w.copyLook(ctx)
	defer cancel()
	svc, err := targets.Copy(look, name)
	if err != nil {
		return nil, model.Backup{}, err
	}
	b, err := svc.ChooseBackup(look, w.Database, w.Backup, w.AsOf, w.Tables...)
	if err == nil && w.Sound {
		err = soundBackup(look, svc, w.Database, b.Name)
	}
	return svc, b, err
}
