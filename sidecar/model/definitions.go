package model

import (
	"fmt"
	"slices"
	"strings"
)

// Reading the definitions is bounded: a backup of more tables than
// MaxPlanTables is refused (the plan would not fit an answer anyway), and
// a definition over MaxDefinitionBytes is not read and counts as unread,
// which the plan treats as a table it cannot vouch for.
const (
	MaxPlanTables      = 10_000
	MaxDefinitionBytes = 1 << 20
	DefinitionReaders  = 16
)

// DefinitionFile recognises metadata/<database>/<table>.sql of the backup's
// database and returns the table.
func DefinitionFile(name, database string) (string, bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 3 || parts[0] != "metadata" || unescapeFileName(parts[1]) != database || !strings.HasSuffix(parts[2], ".sql") {
		return "", false
	}
	return unescapeFileName(strings.TrimSuffix(parts[2], ".sql")), true
}

// Keep refuses a plan that cannot run and, for a restore of named tables,
// drops the ones it leaves out.
func (p RestorePlan) Keep(tables []TableRestore) ([]TableRestore, error) {
	if err := p.Refusal(); err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		return tables, nil
	}
	skipped := p.With(PlanSkip)
	var out []TableRestore
	for _, t := range tables {
		if !slices.Contains(skipped, t.Source) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("nothing was restored: every table named is left out (%s): %w", strings.Join(skipped, ", "), ErrConsumers)
	}
	return out, nil
}
