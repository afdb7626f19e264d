package sidecar

import (
	"context"
	"fmt"
	"strings"

	"github.com/clickvault/clickvault/sidecar/model"
)

// A view created with SQL SECURITY DEFINER runs its query with its
// definer's rights, so ClickHouse lets only whoever holds SET DEFINER ON
// that user create it: RESTORE (and a view restored stopped) fails on the
// first such view, halfway through. ClickHouse 26.7 gives every
// refreshable materialized view DEFINER = its creator, so a backup of a
// database an administrator set up holds them. The plan finds them first:
// a restore or verify that would fail this way is refused before anything
// is created, naming the view, its definer and the right.

// requireViewRights refuses each view the plan creates whose definer the
// sidecar's user may not set, and each view it restores stopped when that
// user may not stop views in the target: created, such a view would be
// live until the restore's undo dropped it, and the undo takes rights the
// sidecar may lack there too. A server that cannot tell (no Rights port)
// is not asked: ClickHouse then says it, and the restore is undone.
func (s *restorer) requireViewRights(ctx context.Context, p *model.RestorePlan) error {
	own := s.own
	if own == nil {
		return nil
	}
	stop := stopRight(ctx, own, p.Target)
	for i := range p.Tables {
		e := &p.Tables[i]
		if e.Action != model.PlanRestore && e.Action != model.PlanStopped {
			continue
		}
		reason, err := viewRightMissing(ctx, own, e.Def)
		if err == nil && reason == "" && e.Action == model.PlanStopped {
			reason, err = stop()
		}
		if err != nil {
			return fmt.Errorf("read the rights view %s takes: %w", e.Table, err)
		}
		if reason != "" {
			e.Action, e.Rights = model.PlanRefuse, true
			e.Reasons = append(e.Reasons, reason)
		}
	}
	return nil
}

// stopRight says, asked once, why the sidecar's user may not stop views
// in target, or "".
func stopRight(ctx context.Context, own OwnRights, target string) func() (string, error) {
	var asked bool
	var reason string
	var err error
	return func() (string, error) {
		if !asked {
			asked = true
			var ok bool
			if ok, err = own.HoldsOnDatabase(ctx, model.RightSystemViews, target); err == nil && !ok {
				reason = fmt.Sprintf("restoring it stopped takes SYSTEM VIEWS on %s (SYSTEM STOP VIEW right after creating it), "+
					"which the sidecar's user %s lacks; grant it (deploy/grants.sql)", target, own.OwnUser())
			}
		}
		return reason, err
	}
}

// viewRightMissing says which right creating a view with definition d
// takes that the sidecar's user lacks, or "".
func viewRightMissing(ctx context.Context, own OwnRights, d model.Definition) (string, error) {
	var right, object, why string
	switch {
	case d.SQLSecurity == "DEFINER" && d.Definer != "" && d.Definer != own.OwnUser() && !strings.EqualFold(d.Definer, "CURRENT_USER"):
		right, object = model.RightSetDefiner, d.Definer
		why = fmt.Sprintf("its definer is %s (SQL SECURITY DEFINER)", d.Definer)
	case d.SQLSecurity == "NONE":
		right, why = model.RightSQLSecurityNone, "it has SQL SECURITY NONE"
	default:
		return "", nil
	}
	ok, err := own.HoldsGlobal(ctx, right, object)
	if err != nil || ok {
		return "", err
	}
	grant := right
	if object != "" {
		grant += " ON " + object
	}
	return fmt.Sprintf("%s: creating it takes %s, which the sidecar's user %s lacks; grant it (deploy/grants.sql says when "+
		"that is safe), or name the other tables to restore them without it", why, grant, own.OwnUser()), nil
}
