package model

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// A restore's shape and targets at their edges: the limits of a
// partition list, each refusal of a table's target, the names a table
// restore reads. Written for the mutation run (docs/mutants.md).

func TestValidateRestoreShape(t *testing.T) {
	one := []TableRestore{{Source: "a", Target: "a"}}
	two := []TableRestore{{Source: "a", Target: "a"}, {Source: "b", Target: "b"}}
	for _, c := range []struct {
		name       string
		tables     []TableRestore
		partitions []string
		mode       RestoreMode
		want       string // "" accepted
	}{
		{"a database", nil, nil, ModeData, ""},
		{"partitions of one table", one, []string{"202401"}, ModeReplace, ""},
		{"partitions of two tables", two, []string{"202401"}, ModeData, "name exactly one table, not 2"},
		{"partitions of the database", nil, []string{"202401"}, ModeData, "name exactly one table, not 0"},
		{"replace of tables", two, nil, ModeReplace, ""},
		{"replace of the database", nil, nil, ModeReplace, "name them in tables"},
		{"a bad partition", one, []string{""}, ModeData, "want 1 to 256 printable bytes"},
	} {
		err := ValidateRestoreShape(c.tables, c.partitions, c.mode)
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestValidatePartitionsLimits(t *testing.T) {
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprint(i)
		}
		return out
	}
	for _, c := range []struct {
		name string
		list []string
		ok   bool
	}{
		{"none", nil, true},
		{"1000", many(1000), true},
		{"1001", many(1001), false},
		{"256 bytes", []string{strings.Repeat("p", 256)}, true},
		{"257 bytes", []string{strings.Repeat("p", 257)}, false},
		{"empty", []string{"ok", ""}, false},
		{"not UTF-8", []string{"ok", "\xff\xfe"}, false},
		{"a control character", []string{"ok", "a\tb"}, false},
		{"a newline", []string{"a\nb"}, false},
		{"printable, quotes and unicode", []string{"('2024-01', 3)", "été"}, true},
	} {
		if err := ValidatePartitions(c.list); (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok %v", c.name, err, c.ok)
		}
	}
}

func TestParseTableRestoreNames(t *testing.T) {
	for in, want := range map[string]string{
		"orders":              "orders>orders",
		"  orders  ":          "orders>orders",
		"orders AS old":       "orders>old",
		"orders as old":       "orders>old",
		"orders TO old":       "error",
		"orders AS":           "error",
		"orders AS old extra": "error",
		"x;y AS old":          "error",
		"orders AS x;y":       "error",
		"x;y":                 "error",
		"":                    "error",
	} {
		r, err := ParseTableRestore(in)
		got := r.Source + ">" + r.Target
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("%q: %s (%v), want %s", in, got, err, want)
		}
	}
}

func TestParseRestoreModeWords(t *testing.T) {
	for in, want := range map[string]RestoreMode{"": ModeData, "data": ModeData, " schema ": ModeSchema, "replace": ModeReplace} {
		if got, err := ParseRestoreMode(in); err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	if got, err := ParseRestoreMode("overwrite"); err == nil || got != "" {
		t.Errorf("overwrite: %q, %v; want an error", got, err)
	}
}

func TestTableTargetsAdmit(t *testing.T) {
	targets := TableTargets{Database: "shop", Exists: true, Rows: map[string]uint64{"full": 3, "empty": 0}}
	for _, c := range []struct {
		name string
		r    []TableRestore
		mode RestoreMode
		want error
	}{
		{"absent", []TableRestore{{Source: "a", Target: "new"}}, ModeData, nil},
		{"empty", []TableRestore{{Source: "a", Target: "empty"}}, ModeData, ErrTargetExists}, // a RESTORE fills only what it creates
		{"replace of an empty table", []TableRestore{{Source: "a", Target: "empty"}}, ModeReplace, nil},
		{"with rows", []TableRestore{{Source: "a", Target: "full"}}, ModeData, ErrTargetNotEmpty},
		{"schema over an empty table", []TableRestore{{Source: "a", Target: "empty"}}, ModeSchema, ErrTargetExists},
		{"schema, absent", []TableRestore{{Source: "a", Target: "new"}}, ModeSchema, nil},
		{"replace of a table with rows", []TableRestore{{Source: "a", Target: "full"}}, ModeReplace, nil},
		{"two as one", []TableRestore{{Source: "a", Target: "new"}, {Source: "b", Target: "new"}}, ModeReplace, ErrTargetConflict},
		{"the second refused", []TableRestore{{Source: "a", Target: "new"}, {Source: "b", Target: "full"}}, ModeData, ErrTargetNotEmpty},
	} {
		err := targets.Admit(c.r, c.mode)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestRequireEmpty(t *testing.T) {
	if err := (Target{Name: "x", Exists: true}).RequireEmpty(); err != nil {
		t.Errorf("an empty database: %v", err)
	}
	if err := (Target{Name: "x", Exists: true, Objects: 1}).RequireEmpty(); !errors.Is(err, ErrTargetNotEmpty) || !strings.Contains(err.Error(), "(1 tables or views)") {
		t.Errorf("one view: %v", err)
	}
}

// TestTableTargetsAdmitSaysWhy: each refusal of an existing table says
// what to do about it: a schema restore creates tables, a table with rows
// is restored under another name or replaced, an empty one dropped first.
func TestTableTargetsAdmitSaysWhy(t *testing.T) {
	targets := TableTargets{Database: "shop", Exists: true, Rows: map[string]uint64{"full": 3, "empty": 0}}
	for _, c := range []struct {
		target string
		mode   RestoreMode
		says   string
		is     error
	}{
		{"full", ModeSchema, "a schema restore creates tables, it does not change one", ErrTargetExists},
		{"empty", ModeSchema, "a schema restore creates tables, it does not change one", ErrTargetExists},
		{"full", ModeData, "exists with 3 rows; restore under another name", ErrTargetNotEmpty},
		{"empty", ModeData, "exists (empty); a restore creates the tables it restores", ErrTargetExists},
	} {
		err := targets.Admit([]TableRestore{{Source: "a", Target: c.target}}, c.mode)
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s, mode %q: %v, want it to say %q", c.target, c.mode, err, c.says)
		}
	}
}
