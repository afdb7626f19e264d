package model

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrTableMissing is returned for a table a request names that is not
// there: not in the database (backup) or not in the backup (restore).
var ErrTableMissing = errors.New("no such table")

// TableSet is which tables of a database a backup holds: every table (both
// lists empty), only Include, or every table but Exclude. A chain holds one
// table set: a backup with another set starts a new chain, so that an
// incremental never silently lacks a table its base has, or the reverse.
type TableSet struct {
	Include []string `json:"include_tables,omitempty"`
	Exclude []string `json:"exclude_tables,omitempty"`
}

// NewTableSet validates the names and sorts them; include and exclude
// cannot both be given.
func NewTableSet(include, exclude []string) (TableSet, error) {
	if len(include) > 0 && len(exclude) > 0 {
		return TableSet{}, fmt.Errorf("give include_tables or exclude_tables, not both")
	}
	var set TableSet
	var err error
	if set.Include, err = tableNames("include_tables", include); err != nil {
		return TableSet{}, err
	}
	if set.Exclude, err = tableNames("exclude_tables", exclude); err != nil {
		return TableSet{}, err
	}
	return set, nil
}

// maxTables bounds a table list of a request or a config.
const maxTables = 1000

func tableNames(what string, names []string) ([]string, error) {
	if len(names) > maxTables {
		return nil, fmt.Errorf("%s names %d tables, at most %d are allowed", what, len(names), maxTables)
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if err := ValidateIdentifier(what+" table", n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// All reports whether the set is every table.
func (t TableSet) All() bool { return len(t.Include) == 0 && len(t.Exclude) == 0 }

// Equal reports whether two sets name the same tables.
func (t TableSet) Equal(o TableSet) bool {
	return slices.Equal(t.Include, o.Include) && slices.Equal(t.Exclude, o.Exclude)
}

// Holds reports whether a table of the database belongs to the set.
func (t TableSet) Holds(table string) bool {
	if len(t.Include) > 0 {
		return slices.Contains(t.Include, table)
	}
	return !slices.Contains(t.Exclude, table)
}

// Filter keeps the row counts of the tables in the set.
func (t TableSet) Filter(rows map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(rows))
	for table, n := range rows {
		if t.Holds(table) {
			out[table] = n
		}
	}
	return out
}

// String says the set in words, for logs, the catalog and messages.
func (t TableSet) String() string {
	switch {
	case len(t.Include) > 0:
		return "only " + strings.Join(t.Include, ", ")
	case len(t.Exclude) > 0:
		return "all but " + strings.Join(t.Exclude, ", ")
	}
	return "all tables"
}
