package sidecar

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/model"
)

// InspectTables refuses a target database that is never a target and
// reads which tables it has.
func (s *restorer) InspectTables(ctx context.Context, database string) (model.TableTargets, error) {
	t := model.TableTargets{Database: database}
	exists, err := s.targetExists(ctx, database)
	if err != nil || !exists {
		return t, err
	}
	t.Exists = true
	if t.Rows, err = s.db.TableRows(ctx, database); err != nil {
		return t, fmt.Errorf("inspect restore target %s: %w", database, err)
	}
	return t, nil
}

// restoreTables restores some tables of b into req.Target: it creates the
// target database if needed and sends one RESTORE for all of them. A
// replace restores each table that exists into a staging table and swaps
// it in (restore_replace.go); a failure removes what the restore created.
func (s *restorer) restoreTables(ctx context.Context, req RestoreRequest, b model.Backup, plan model.RestorePlan) (map[string]uint64, error) {
	targets, err := s.InspectTables(ctx, req.Target)
	if err != nil {
		return nil, err
	}
	if err := targets.Admit(req.Tables, req.Mode); err != nil {
		return nil, err
	}
	rec, restores, err := s.planTables(ctx, req, b, targets, plan.With(model.PlanStopped))
	if err != nil {
		return nil, err
	}
	if err := s.replacer.requireSameColumns(ctx, rec, plan); err != nil { // before anything is restored
		return nil, err
	}
	values, ids, err := s.replacer.partitionIDs(ctx, rec, req.Partitions)
	if err != nil {
		return nil, err
	}
	w := s.works.startWork(ctx, rec)
	defer w.done(ctx)
	s.fault("restore-before")
	if rec.CreatedDatabase {
		if err := s.createTarget(ctx, w); err != nil {
			return nil, err
		}
	}
	if len(restores) > 0 { // none when only views restored stopped are named
		cmd := RestoreCommand{ID: rec.ID, Database: b.Database, Target: req.Target, Folder: b.Folder, Tables: restores,
			Partitions: values, PartitionIDs: ids, StructureOnly: req.Mode == model.ModeSchema}
		if err := s.runRestore(ctx, w, cmd, b, req); err != nil {
			return nil, s.works.undo(ctx, w.record(), err)
		}
	}
	if err := s.createStoppedViews(ctx, w, req, plan); err != nil {
		return nil, s.works.undo(ctx, w.record(), err)
	}
	if err := s.finishReplace(ctx, w, b); err != nil {
		return nil, err
	}
	rows, err := s.db.TableRows(ctx, req.Target)
	if err != nil {
		return nil, fmt.Errorf("count restored rows in %s: %w", req.Target, err)
	}
	out := map[string]uint64{}
	for _, r := range req.Tables {
		out[r.Target] = rows[r.Target]
	}
	return out, nil
}

// createTarget creates the database a partial restore restores into, and
// records its UUID: only a database this restore made is dropped by its
// undo. One that someone created since the restore looked is theirs.
func (s *restorer) createTarget(ctx context.Context, w *work) error {
	target := w.record().Target
	if err := s.db.CreateDatabase(ctx, target); err != nil {
		if errors.Is(err, ErrAlreadyExists) {
			return fmt.Errorf("create restore target %s: someone created it since this restore looked, and a restore "+
				"never takes a database it did not make for its own; run the restore again: %w", target, err)
		}
		return fmt.Errorf("create restore target %s: %w", target, err)
	}
	s.works.claimDatabase(ctx, w)
	return nil
}

// planTables decides where each table is restored: a table a replace
// names that exists goes to a staging table, any other under its own name
// (and is one the restore creates, when it does not exist). A refreshable
// view restored stopped is created after the RESTORE, never over one that
// exists. A replace in a database that cannot swap tables is refused
// here, before anything is done.
func (s *restorer) planTables(ctx context.Context, req RestoreRequest, b model.Backup, targets model.TableTargets, stopped []string) (workRecord, []model.TableRestore, error) {
	rec := workRecord{ID: uuid.NewString(), Kind: workRestore, Backup: b.Name, Source: b.Database, Target: req.Target,
		CreatedDatabase: !targets.Exists, RequestID: req.RequestID}
	existing := map[string]bool{}
	if targets.Exists {
		names, err := s.ops.TableNames(ctx, req.Target)
		if err != nil {
			return rec, nil, fmt.Errorf("inspect restore target %s: %w", req.Target, err)
		}
		for _, n := range names {
			existing[n] = true
		}
	}
	var restores []model.TableRestore
	for i, r := range req.Tables {
		switch {
		case slices.Contains(stopped, r.Source) && existing[r.Target]:
			return rec, nil, fmt.Errorf("refreshable view %s.%s exists; a view restored stopped is never put over one: "+
				"restore it under another name (\"%s AS new_name\") or drop it first: %w", req.Target, r.Target, r.Source, model.ErrTargetExists)
		case slices.Contains(stopped, r.Source):
			rec.Created, rec.Stopped = append(rec.Created, r.Target), append(rec.Stopped, r.Target)
			continue
		case existing[r.Target] && req.Mode == model.ModeReplace:
			staging := stagingName(rec.ID, i, r.Target)
			rec.Swaps = append(rec.Swaps, swap{Source: r.Source, Live: r.Target, Staging: staging})
			r.Target = staging
		case !existing[r.Target]:
			rec.Created = append(rec.Created, r.Target)
		}
		restores = append(restores, r)
	}
	if len(rec.Swaps) > 0 {
		rec.Partitions = req.Partitions
		if len(req.Partitions) == 0 {
			if err := s.replacer.requireExchange(ctx, req.Target); err != nil {
				return rec, nil, err
			}
		}
	}
	return rec, restores, nil
}

// finishReplace checks the staging tables, swaps them in and drops them
// (then the old tables). A staging table that fails its check is dropped
// and the live table stays as it was.
func (s *restorer) finishReplace(ctx context.Context, w *work, b model.Backup) error {
	rec := w.record()
	if len(rec.Swaps) == 0 {
		return nil
	}
	if rec.Swaps[0].StagingUUID == "" { // not checked by an earlier run
		if err := s.replacer.compareStaging(ctx, b, rec); err != nil {
			return s.works.undo(ctx, rec, err)
		}
		if err := s.replacer.markCompared(ctx, w); err != nil {
			return s.works.undo(ctx, rec, err)
		}
		rec = w.record()
	}
	s.fault("replace-checked")
	if err := s.replacer.swapIn(ctx, rec); err != nil {
		if len(rec.Partitions) == 0 {
			return s.works.undo(ctx, rec, err)
		}
		return err // partitions already replaced stay replaced; replacePartitions dropped the staging table
	}
	s.fault("replace-swapped")
	if err := s.works.finishStaging(ctx, rec); err != nil {
		s.logger.Warn("the replace is done; dropping the old tables failed, drop them by hand", "err", err)
	}
	for _, sw := range rec.Swaps {
		s.logger.Info("replaced", "table", rec.Target+"."+sw.Live, "partitions", rec.Partitions, "backup", rec.Backup)
	}
	return nil
}
