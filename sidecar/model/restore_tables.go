package model

import (
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
	// ModeReplace restores the named tables beside the live ones and swaps
	// them in (or, with partitions, replaces those partitions in place): the
	// one way to restore over data, and only when asked.
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

// Admit applies the mode to each target table: a data or schema restore
// needs it absent (else ErrTargetNotEmpty when it has rows, ErrTargetExists
// when not, or for any table in a schema restore); replace takes any. One target
// named twice is ErrTargetConflict. An empty table is refused too: the
// RESTORE would write into a table it did not create, and a failure
// halfway could then neither remove it nor empty it safely (rows inserted
// meanwhile are someone else's); mode replace restores beside it and
// swaps the backup's in, all or nothing.
func (t TableTargets) Admit(restores []TableRestore, mode RestoreMode) error {
	seen := map[string]bool{}
	for _, r := range restores {
		if seen[r.Target] {
			return fmt.Errorf("table %s.%s is the target of two tables: %w", t.Database, r.Target, ErrTargetConflict)
		}
		seen[r.Target] = true
		rows, exists := t.Rows[r.Target]
		switch {
		case !exists || mode == ModeReplace:
		case mode == ModeSchema:
			return fmt.Errorf("table %s.%s exists; a schema restore creates tables, it does not change one: %w",
				t.Database, r.Target, ErrTargetExists)
		case rows > 0:
			return fmt.Errorf("table %s.%s exists with %d rows; restore under another name (\"%s AS new_name\"), "+
				"or say mode replace to replace it from the backup: %w", t.Database, r.Target, rows, r.Source, ErrTargetNotEmpty)
		default:
			return fmt.Errorf("table %s.%s exists (empty); a restore creates the tables it restores, so that a failure can "+
				"remove them: drop it first, restore under another name (\"%s AS new_name\"), or say mode replace to "+
				"swap the backup's in: %w", t.Database, r.Target, r.Source, ErrTargetExists)
		}
	}
	return nil
}

// SourceTables are the backup's tables a partial restore reads.
func SourceTables(restores []TableRestore) []string {
	out := make([]string, len(restores))
	for i, r := range restores {
		out[i] = r.Source
	}
	return out
}
