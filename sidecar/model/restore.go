package model

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// RestoreResult says what was restored where.
type RestoreResult struct {
	Backup Backup
	Target string
	Tables map[string]uint64 // rows per table after the restore
	Plan   *RestorePlan      // what the restore did (or, for a dry run, would do) with each table
}

// ErrBackupMissing is returned for a backup name that does not exist.
var ErrBackupMissing = errors.New("no such backup")

// ErrBackupUnusable is returned for a backup that exists but cannot be
// restored: not completed, or built on a missing or failed backup.
var ErrBackupUnusable = errors.New("backup cannot be restored")

// ErrTargetNotEmpty refuses to restore over data: a database that holds
// anything, or a table with rows.
var ErrTargetNotEmpty = errors.New("restore target is not empty")

// ErrTargetExists refuses to restore a table where one of its name exists,
// with no rows: a schema restore (which creates tables, never changes one),
// a data restore (whose failure could then neither remove the table nor
// empty it safely), a refreshable view restored stopped.
var ErrTargetExists = errors.New("restore target table exists")

// ErrForbiddenTarget refuses a database that is never a restore target:
// ClickHouse's own, ClickVault's control database, a verify's scratch.
var ErrForbiddenTarget = errors.New("restore target is forbidden")

// ErrTargetConflict refuses a restore that names one target table for two
// tables of the backup.
var ErrTargetConflict = errors.New("two tables restored under one name")

func ChooseIn(cat Catalog, database, name string, asOf time.Time, tables []string) (Backup, error) {
	if name != "" {
		b, ok := cat.Find(name)
		switch {
		case !ok:
			return Backup{}, fmt.Errorf("backup %q of database %s: %w", name, database, ErrBackupMissing)
		case !b.Completed():
			return Backup{}, fmt.Errorf("backup %s of database %s is %s, not completed: %w", name, database, b.CatalogStatus(), ErrBackupUnusable)
		case !cat.Restorable(b):
			return Backup{}, fmt.Errorf("backup %s of database %s: a backup it is built on is missing or failed: %w", name, database, ErrBackupUnusable)
		case b.HoldsTables(tables) != "":
			return Backup{}, fmt.Errorf("backup %s of database %s does not hold table %s: %w",
				name, database, b.HoldsTables(tables), ErrTableMissing)
		}
		return b, nil
	}
	b, ok := cat.NewestCompleted(asOf, tables...)
	if !ok {
		if asOf.IsZero() {
			return Backup{}, fmt.Errorf("database %s has no completed backup: %w", database, ErrBackupMissing)
		}
		return Backup{}, fmt.Errorf("database %s has no completed backup at or before %s: %w",
			database, asOf.UTC().Format(time.RFC3339), ErrBackupMissing)
	}
	return b, nil
}

// Target is what a restore target is now.
type Target struct {
	Name    string
	Exists  bool
	Objects uint64 // tables, views and dictionaries in it
}

// RequireEmpty refuses a target that holds anything at all: a table of any
// engine, a view or a dictionary.
func (t Target) RequireEmpty() error {
	if t.Objects > 0 {
		return fmt.Errorf("database %s is not empty (%d tables or views); restore into a new database or drop it first: %w",
			t.Name, t.Objects, ErrTargetNotEmpty)
	}
	return nil
}

// ForbiddenTarget says why a database may never be restored into, or "".
// Names are compared without case: a look-alike of a system database is
// refused too.
func ForbiddenTarget(name, controlDatabase string) string {
	lower := strings.ToLower(name)
	switch {
	case lower == "system" || lower == "information_schema":
		return "is a ClickHouse system database"
	case controlDatabase != "" && lower == strings.ToLower(controlDatabase):
		return "is ClickVault's control database"
	case strings.HasPrefix(lower, ScratchPrefix):
		return "is a verify scratch database"
	}
	return ""
}

// ValidateRestoreShape refuses what a restore cannot be: partitions of
// anything but one table, a replace without named tables, a partition list
// ValidatePartitions refuses. The request runner calls it at admission, the
// engine again before it restores.
func ValidateRestoreShape(tables []TableRestore, partitions []string, mode RestoreMode) error {
	if len(partitions) > 0 && len(tables) != 1 {
		return fmt.Errorf("partitions are restored from one table: name exactly one table, not %d", len(tables))
	}
	if mode == ModeReplace && len(tables) == 0 {
		return fmt.Errorf("mode replace swaps in the tables it restores: name them in tables; to replace a whole database, drop it first")
	}
	return ValidatePartitions(partitions)
}

// ScratchPrefix starts the name of every verify scratch database.
const ScratchPrefix = "clickvault_verify_"
