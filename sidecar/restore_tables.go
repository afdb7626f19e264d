package sidecar

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RestoreMode says what a restore writes and over what.
type RestoreMode string

const (
	// ModeData restores definitions and data into tables that do not exist
	// or are empty: never mixed with rows already there.
	ModeData RestoreMode = ""
	// ModeSchema restores the definitions only (structure_only), into
	// tables that do not exist.
	ModeSchema RestoreMode = "schema"
	// ModeReplace drops the named target tables that exist, then restores
	// them: the one way to restore over data, and only when asked.
	ModeReplace RestoreMode = "replace"
)

// ParseRestoreMode accepts "", "data", "schema" and "replace".
func ParseRestoreMode(s string) (RestoreMode, error) {
	switch strings.TrimSpace(s) {
	case "", "data":
		return ModeData, nil
	case "schema":
		return ModeSchema, nil
	case "replace":
		return ModeReplace, nil
	}
	return "", fmt.Errorf("unknown restore mode %q: want data (the default), schema or replace", s)
}

// TableRestore is one table of a partial restore: the backup's table
// Source, restored as Target (the same name unless renamed).
type TableRestore struct {
	Source string
	Target string
}

// ParseTableRestore reads "table" or "table AS new_name".
func ParseTableRestore(s string) (TableRestore, error) {
	fields := strings.Fields(s)
	var r TableRestore
	switch {
	case len(fields) == 1:
		r = TableRestore{Source: fields[0], Target: fields[0]}
	case len(fields) == 3 && strings.EqualFold(fields[1], "AS"):
		r = TableRestore{Source: fields[0], Target: fields[2]}
	default:
		return r, fmt.Errorf("table %q: want a table name, or \"table AS new_name\"", s)
	}
	if err := ValidateIdentifier("table", r.Source); err != nil {
		return r, err
	}
	return r, ValidateIdentifier("target table", r.Target)
}

// Limits of a partition list: ClickHouse takes each as a literal of the
// partition key, which ClickVault quotes; they are bounded and printable
// so that a request cannot send megabytes or invisible text.
const (
	maxPartitions     = 1000
	maxPartitionBytes = 256
)

// ValidatePartitions checks a PARTITIONS list.
func ValidatePartitions(partitions []string) error {
	if len(partitions) > maxPartitions {
		return fmt.Errorf("%d partitions named, at most %d are allowed", len(partitions), maxPartitions)
	}
	for _, p := range partitions {
		if p == "" || len(p) > maxPartitionBytes || !utf8.ValidString(p) || strings.ContainsFunc(p, unicode.IsControl) {
			return fmt.Errorf("partition %.40q: want 1 to %d printable bytes, as system.parts shows it in partition",
				p, maxPartitionBytes)
		}
	}
	return nil
}

// TableTargets is what a partial restore's target database holds now.
type TableTargets struct {
	Database string
	Exists   bool
	Rows     map[string]uint64 // the tables it has, with their rows
}

// InspectTables refuses a target database that is never a target and
// reads which tables it has.
func (s *Service) InspectTables(ctx context.Context, database string) (TableTargets, error) {
	t := TableTargets{Database: database}
	exists, err := s.targetExists(ctx, database)
	if err != nil || !exists {
		return t, err
	}
	t.Exists = true
	if t.Rows, err = s.db.TableRows(ctx, database); err != nil {
		return t, fmt.Errorf("check restore target %s: %w", database, err)
	}
	return t, nil
}

// Check applies the mode to each target table: a data restore needs it
// absent or empty, a schema restore absent; replace takes any.
func (t TableTargets) Check(restores []TableRestore, mode RestoreMode) error {
	seen := map[string]bool{}
	for _, r := range restores {
		if seen[r.Target] {
			return fmt.Errorf("table %s.%s is the target of two tables: %w", t.Database, r.Target, ErrTargetNotEmpty)
		}
		seen[r.Target] = true
		rows, exists := t.Rows[r.Target]
		switch {
		case !exists || mode == ModeReplace:
		case mode == ModeSchema:
			return fmt.Errorf("table %s.%s exists; a schema restore creates tables, it does not change one: %w",
				t.Database, r.Target, ErrTargetNotEmpty)
		case rows > 0:
			return fmt.Errorf("table %s.%s exists with %d rows; restore under another name (\"%s AS new_name\"), "+
				"or say mode replace to drop it and restore it: %w", t.Database, r.Target, rows, r.Source, ErrTargetNotEmpty)
		}
	}
	return nil
}

// restoreTables restores some tables of b into req.Target: it creates the
// target database if needed, drops the tables a replace names, and sends
// one RESTORE for all of them.
func (s *Service) restoreTables(ctx context.Context, req RestoreRequest, b Backup) (map[string]uint64, error) {
	targets, err := s.InspectTables(ctx, req.Target)
	if err != nil {
		return nil, err
	}
	if err := targets.Check(req.Tables, req.Mode); err != nil {
		return nil, err
	}
	if !targets.Exists {
		if err := s.db.CreateDatabase(ctx, req.Target); err != nil {
			return nil, fmt.Errorf("create restore target %s: %w", req.Target, err)
		}
	}
	if req.Mode == ModeReplace {
		for _, r := range req.Tables {
			if _, ok := targets.Rows[r.Target]; !ok {
				continue
			}
			s.logger.Warn("dropping a table to replace it", "table", req.Target+"."+r.Target, "backup", b.Name)
			if err := s.db.DropTable(ctx, req.Target, r.Target); err != nil {
				return nil, fmt.Errorf("drop %s.%s to replace it: %w", req.Target, r.Target, err)
			}
		}
	}
	cmd := RestoreCommand{Database: b.Database, Target: req.Target, Folder: b.Folder, Tables: req.Tables,
		Partitions: req.Partitions, StructureOnly: req.Mode == ModeSchema}
	if err := s.startRestore(ctx, cmd, b, req.Progress, req.Started); err != nil {
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

// Sources are the backup's tables a partial restore reads.
func Sources(restores []TableRestore) []string {
	out := make([]string, len(restores))
	for i, r := range restores {
		out[i] = r.Source
	}
	return out
}
