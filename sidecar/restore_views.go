package sidecar

import (
	"context"
	"fmt"

	"github.com/clickvault/clickvault/sidecar/model"
)

// ClickHouse's RESTORE starts every refreshable view it recreates once the
// RESTORE ends, so it refreshes (and writes into its TO table, which may
// be production's) before anything can stop it; a setting such as
// stop_refreshable_materialized_views_on_startup does not apply to CREATE
// or RESTORE. A view consumers = 'include' restores is therefore left out
// of the RESTORE and created afterwards from the backup's own definition,
// with EMPTY (no refresh at creation), and stopped at once: it waits for a
// person to start it (SYSTEM START VIEW). Its rows come from its TO table,
// which is restored (or outside); a view without one keeps its rows in an
// inner table, which EMPTY creates empty: a view that replaces its rows at
// each refresh gets them back at its first, one that appends would lose
// them, and the plan refuses it.

// createStoppedViews creates the refreshable views a plan restores stopped,
// after the RESTORE of the rest (their source and TO tables), and records
// each in the work record.
func (s *restorer) createStoppedViews(ctx context.Context, w *work, req RestoreRequest, p model.RestorePlan) error {
	renames := map[string]string{}
	for _, r := range req.Tables {
		renames[r.Source] = r.Target
	}
	for _, e := range p.Tables {
		if e.Action != model.PlanStopped {
			continue
		}
		create, err := model.StoppedCreate(e.Create, p.Database, req.Target, e.Target, renames)
		if err != nil {
			return fmt.Errorf("restore refreshable view %s stopped: %w", e.Table, err)
		}
		err = s.ops.CreateStoppedView(ctx, req.Target, e.Target, create)
		s.works.claimView(ctx, w, e.Target, err)
		if err != nil {
			return fmt.Errorf("restore refreshable view %s.%s stopped: %w", req.Target, e.Target, err)
		}
		s.logger.Info("refreshable view restored stopped", "view", req.Target+"."+e.Target)
	}
	return nil
}
