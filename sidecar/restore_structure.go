package sidecar

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/clickvault/clickvault/sidecar/model"
)

// A partition replace copies the staging table's parts into the live table
// (REPLACE PARTITION … FROM), which ClickHouse only does between tables of
// the same physical columns ("Tables have different structure"). A live
// table migrated since the backup (a column added, a type changed) is
// therefore refused before anything is restored, naming the difference:
// the backup's columns are read from its CREATE (the restore plan has it),
// the live table's from system.columns.

// requireSameColumns refuses a partition replace whose live table's
// columns differ from the backup's, before anything is restored.
func (s *replacer) requireSameColumns(ctx context.Context, rec workRecord, plan model.RestorePlan) error {
	if len(rec.Partitions) == 0 || len(rec.Swaps) == 0 {
		return nil
	}
	sw := rec.Swaps[0]
	i := slices.IndexFunc(plan.Tables, func(e model.PlanEntry) bool { return e.Table == sw.Source })
	if i < 0 {
		return nil
	}
	backup, ok := model.BackupColumns(plan.Tables[i].Create)
	if !ok {
		return nil
	}
	live, err := s.ops.TableColumns(ctx, rec.Target, sw.Live)
	if err != nil {
		return fmt.Errorf("read the columns of %s.%s: %w", rec.Target, sw.Live, err)
	}
	if diff := model.DiffColumns(live, backup); len(diff) > 0 {
		return fmt.Errorf("a partition replace of %s.%s is refused, nothing was restored: %s; REPLACE PARTITION needs the "+
			"same columns on both sides. Restore the partitions under another name (\"%s AS new_name\") and copy "+
			"their rows across, or replace the whole table: %w",
			rec.Target, sw.Live, strings.Join(diff, "; "), sw.Source, model.ErrStructureChanged)
	}
	return nil
}
