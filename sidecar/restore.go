package sidecar

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/model"
)

// RestoreRequest asks to restore one backup into a database.
type RestoreRequest struct {
	Database    string    // whose backups
	Backup      string    // a backup name; "" = the newest completed (at or before AsOf)
	AsOf        time.Time // zero = no limit
	Target      string    // "" = Database; must not exist or be empty
	RequestID   string
	RequestedBy string
	Progress    ProgressFunc
	// Started, when set, is called once ClickHouse accepted the RESTORE.
	Started func(b model.Backup, operationID string)
	// Tables, when set, restores only these tables of the backup, into
	// Target (which may then hold other tables); empty restores the whole
	// database into a new or empty one.
	Tables []model.TableRestore
	// Partitions restores only these partitions (of the one table named).
	Partitions []string
	Mode       model.RestoreMode
	// Consumers says what to do with tables that consume or write outside
	// the target (restore_plan.go); DryRun answers with the plan only.
	Consumers model.Consumers
	DryRun    bool
	// Permit, when set, is asked once the plan is read, before anything
	// is created: its error refuses the restore (a requester's right to
	// restore live what consumers = 'include' names).
	Permit func(ctx context.Context, p model.RestorePlan) error
}

// restorer restores backups: it chooses the backup, inspects the target,
// reads the backup's plan, and restores the whole database or some of its
// tables (replacing live ones through the replacer), keeping a work record
// of what it creates (works).
type restorer struct {
	*engine
	catalogs *catalogs
	replacer *replacer
	works    *works
}

// Restore restores a backup (with the chain it is built on, which ClickHouse
// reads by itself) into Target, and notifies the outcome. A dry run
// restores nothing, so it notifies nothing: a restore_completed event
// would tell the hooks' readers that data was restored.
func (s *restorer) Restore(ctx context.Context, req RestoreRequest) (model.RestoreResult, error) {
	start := s.now()
	res, err := s.restore(ctx, req)
	if req.DryRun {
		return res, err
	}
	e := Event{Event: "restore_completed", Database: req.Database, Backup: res.Backup.Name, Kind: string(res.Backup.Kind),
		Size: res.Backup.StoredBytes(), StoredBytes: res.Backup.StoredBytes(), LogicalBytes: res.Backup.TotalSize,
		DurationSeconds: s.now().Sub(start).Seconds(), RequestID: req.RequestID, RequestedBy: req.RequestedBy}
	if err != nil {
		e.Event, e.Error = "restore_failed", err.Error()
	}
	s.emit(ctx, e)
	return res, err
}

func (s *restorer) restore(ctx context.Context, req RestoreRequest) (model.RestoreResult, error) {
	if req.Target == "" {
		req.Target = req.Database
	}
	if err := model.ValidateIdentifier("database", req.Database); err != nil {
		return model.RestoreResult{}, err
	}
	if err := model.ValidateIdentifier("restore target", req.Target); err != nil {
		return model.RestoreResult{}, err
	}
	if err := model.ValidateRestoreShape(req.Tables, req.Partitions, req.Mode); err != nil {
		return model.RestoreResult{}, err
	}
	pin, err := s.TakePin(ctx, req.Database, PinRestore, req.RequestID) // no cleanup deletes what it reads (pin.go)
	if err != nil {
		return model.RestoreResult{}, err
	}
	defer pin.Release(ctx)
	b, err := s.ChooseBackup(ctx, req.Database, req.Backup, req.AsOf, model.SourceTables(req.Tables)...)
	if err != nil {
		return model.RestoreResult{}, err
	}
	pin.Narrow(ctx, b.Name)
	res := model.RestoreResult{Backup: b, Target: req.Target}
	if prev, ok := s.works.earlierAttempt(ctx, req); ok {
		if res, resumed, err := s.works.resumeAttempt(ctx, prev, req); resumed {
			return res, err
		}
	}
	plan, err := s.planRestore(ctx, req, b) // before anything is created
	res.Plan = &plan
	if err == nil && req.Permit != nil {
		err = req.Permit(ctx, plan)
	}
	if err != nil || req.DryRun {
		return res, err
	}
	if req.Tables, err = plan.Keep(req.Tables); err != nil {
		return res, err
	}
	if len(req.Tables) > 0 {
		res.Tables, err = s.restoreTables(ctx, req, b, plan)
	} else {
		res.Tables, err = s.restoreDatabase(ctx, req, b, plan)
	}
	if err == nil {
		s.logger.Info("restore completed", "backup", b.Name, "target", req.Target, "tables", len(res.Tables))
	}
	return res, err
}

// restoreDatabase restores the whole database into an empty or new one.
// A failure removes what it created (restore_undo.go): its tables, and the
// database when it created it and nobody put anything else in it.
func (s *restorer) restoreDatabase(ctx context.Context, req RestoreRequest, b model.Backup, plan model.RestorePlan) (map[string]uint64, error) {
	t, err := s.InspectTarget(ctx, req.Target)
	if err != nil {
		return nil, err
	}
	if err := t.RequireEmpty(); err != nil {
		return nil, err
	}
	rec := workRecord{ID: uuid.NewString(), Kind: workRestore, Backup: b.Name, Source: b.Database, Target: req.Target,
		CreatedDatabase: !t.Exists, WholeDatabase: true, RequestID: req.RequestID, Stopped: plan.With(model.PlanStopped),
		Created: plan.With(model.PlanRestore, model.PlanStopped)}
	w := s.works.startWork(ctx, rec)
	defer w.done(ctx)
	s.fault("restore-before")
	// The RESTORE creates the database (with the backup's definition), and
	// fails if someone else has created it since InspectTarget looked.
	cmd := RestoreCommand{ID: rec.ID, Database: b.Database, Target: req.Target, Folder: b.Folder, StructureOnly: req.Mode == model.ModeSchema,
		Except: plan.With(model.PlanSkip, model.PlanStopped), NewDatabase: !t.Exists} // views restored stopped are created after it
	if err := s.runRestore(ctx, w, cmd, b, req); err != nil {
		return nil, s.works.undo(ctx, w.record(), err)
	}
	if err := s.createStoppedViews(ctx, w, req, plan); err != nil {
		return nil, s.works.undo(ctx, w.record(), err)
	}
	rows, err := s.db.TableRows(ctx, req.Target)
	if err != nil {
		return nil, fmt.Errorf("count restored rows in %s: %w", req.Target, err)
	}
	return rows, nil
}

// runRestore sends the RESTORE, waits for it, and records what it created
// in the work record, whether it succeeded or not.
func (s *restorer) runRestore(ctx context.Context, w *work, cmd RestoreCommand, b model.Backup, req RestoreRequest) error {
	op, err := s.startRestore(ctx, cmd, b, req.Progress, req.Started)
	s.works.claimRestored(ctx, w, op)
	if err != nil {
		s.fault("restore-failed")
	}
	return err
}

// ChooseBackup finds a completed, restorable backup: by name, or the newest
// at or before asOf, or the newest of all.
func (s *restorer) ChooseBackup(ctx context.Context, database, name string, asOf time.Time, tables ...string) (model.Backup, error) {
	cat, err := s.catalogs.Catalog(ctx, database)
	if err != nil {
		return model.Backup{}, err
	}
	b, err := model.ChooseIn(cat, database, name, asOf, tables)
	if err == nil || len(tables) == 0 || !errors.Is(err, model.ErrBackupMissing) && !errors.Is(err, model.ErrTableMissing) {
		return b, err
	}
	b, err = model.ChooseIn(cat, database, name, asOf, nil)
	if err != nil {
		return model.Backup{}, err
	}
	// The catalog lists the tables that hold rows: a view is only in the
	// backup's definitions.
	missing, err := s.undefined(ctx, cat, b, tables)
	switch {
	case err != nil:
		return model.Backup{}, err
	case len(missing) == 0:
		return b, nil
	case name != "":
		return model.Backup{}, fmt.Errorf("backup %s of database %s does not hold table %s: %w", name, database, missing[0], model.ErrTableMissing)
	case asOf.IsZero():
		return model.Backup{}, fmt.Errorf("no completed backup of database %s holds table(s) %s: %w", database,
			strings.Join(missing, ", "), model.ErrTableMissing)
	}
	return model.Backup{}, fmt.Errorf("no completed backup of database %s at or before %s holds table(s) %s: %w", database,
		asOf.UTC().Format(time.RFC3339), strings.Join(missing, ", "), model.ErrTableMissing)
}

// InspectTarget refuses a target that is ClickHouse's own, the sidecar's or
// a scratch database (ErrForbiddenTarget), and reports whether it exists and
// what it holds: admission decides on the rights from Exists (CREATE
// DATABASE for a new one) and on emptiness from Objects in one look.
func (s *restorer) InspectTarget(ctx context.Context, target string) (model.Target, error) {
	t := model.Target{Name: target}
	exists, err := s.targetExists(ctx, target)
	if err != nil || !exists {
		return t, err
	}
	t.Exists = true
	if t.Objects, err = s.db.TableCount(ctx, target); err != nil {
		return t, fmt.Errorf("inspect restore target %s: %w", target, err)
	}
	return t, nil
}

// targetExists refuses a database that is never a restore target
// (ErrForbiddenTarget) and reports whether it exists.
func (s *restorer) targetExists(ctx context.Context, database string) (bool, error) {
	if why := model.ForbiddenTarget(database, s.opts.ControlDatabase); why != "" {
		return false, fmt.Errorf("database %s %s; restore into another database: %w", database, why, model.ErrForbiddenTarget)
	}
	exists, err := s.db.DatabaseExists(ctx, database)
	if err != nil {
		return false, fmt.Errorf("inspect restore target %s: %w", database, err)
	}
	return exists, nil
}

// startRestore sends the RESTORE and waits for it, and returns it as
// system.backups has it at its end (zero when it did not end).
// Its id is the caller's (the work record's) or a new one.
func (s *restorer) startRestore(ctx context.Context, cmd RestoreCommand, b model.Backup, progress ProgressFunc, started func(model.Backup, string)) (Operation, error) {
	if cmd.ID == "" {
		cmd.ID = uuid.NewString()
	}
	if err := s.db.StartRestore(ctx, cmd); err != nil {
		return Operation{}, fmt.Errorf("start restore of %s into %s: %w", b.Name, cmd.Target, err)
	}
	if started != nil {
		started(b, cmd.ID)
	}
	s.fault("restore-sent")
	return s.awaitRestore(ctx, cmd.ID, b.Name, cmd.Target, progress)
}

func (s *restorer) awaitRestore(ctx context.Context, id, name, target string, progress ProgressFunc) (Operation, error) {
	op, err := s.waitOperation(ctx, id, "restore", name, progress, nil)
	if err != nil {
		return op, fmt.Errorf("restore %s into %s: %w", name, target, err)
	}
	if op.Status != OpRestored {
		s.logger.Warn("clickhouse's whole error", "restore", name, "target", target, "error", op.ErrorDetail)
		return op, fmt.Errorf("clickhouse ended the restore of %s into %s with %s: %s", name, target, op.Status, op.Error)
	}
	return op, nil
}

func (s *restorer) dropScratch(ctx context.Context, name string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := s.db.DropDatabase(ctx, name); err != nil {
		s.logger.Error("drop verify scratch database; drop it by hand", "database", name, "err", err)
	}
}
