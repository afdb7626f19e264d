package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
	"github.com/clickvault/clickvault/sidecar/model"
)

// A restore's shape and targets at their edges: the limits of a
// partition list, each refusal of a table's target, the names a table
// restore reads. Written for the mutation run (docs/mutants.md).

func TestValidateRestoreShape(t *testing.T) {
	one := []model.TableRestore{{Source: "a", Target: "a"}}
	two := []model.TableRestore{{Source: "a", Target: "a"}, {Source: "b", Target: "b"}}
	for _, c := range []struct {
		name       string
		tables     []model.TableRestore
		partitions []string
		mode       model.RestoreMode
		want       string // "" accepted
	}{
		{"a database", nil, nil, model.ModeData, ""},
		{"partitions of one table", one, []string{"202401"}, model.ModeReplace, ""},
		{"partitions of two tables", two, []string{"202401"}, model.ModeData, "name exactly one table, not 2"},
		{"partitions of the database", nil, []string{"202401"}, model.ModeData, "name exactly one table, not 0"},
		{"replace of tables", two, nil, model.ModeReplace, ""},
		{"replace of the database", nil, nil, model.ModeReplace, "name them in tables"},
		{"a bad partition", one, []string{""}, model.ModeData, "want 1 to 256 printable bytes"},
	} {
		err := model.ValidateRestoreShape(c.tables, c.partitions, c.mode)
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
		if err := model.ValidatePartitions(c.list); (err == nil) != c.ok {
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
		r, err := model.ParseTableRestore(in)
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
	for in, want := range map[string]model.RestoreMode{"": model.ModeData, "data": model.ModeData, " schema ": model.ModeSchema, "replace": model.ModeReplace} {
		if got, err := model.ParseRestoreMode(in); err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	if got, err := model.ParseRestoreMode("overwrite"); err == nil || got != "" {
		t.Errorf("overwrite: %q, %v; want an error", got, err)
	}
}

func TestTableTargetsAdmit(t *testing.T) {
	targets := model.TableTargets{Database: "shop", Exists: true, Rows: map[string]uint64{"full": 3, "empty": 0}}
	for _, c := range []struct {
		name string
		r    []model.TableRestore
		mode model.RestoreMode
		want error
	}{
		{"absent", []model.TableRestore{{Source: "a", Target: "new"}}, model.ModeData, nil},
		{"empty", []model.TableRestore{{Source: "a", Target: "empty"}}, model.ModeData, model.ErrTargetExists}, // a RESTORE fills only what it creates
		{"replace of an empty table", []model.TableRestore{{Source: "a", Target: "empty"}}, model.ModeReplace, nil},
		{"with rows", []model.TableRestore{{Source: "a", Target: "full"}}, model.ModeData, model.ErrTargetNotEmpty},
		{"schema over an empty table", []model.TableRestore{{Source: "a", Target: "empty"}}, model.ModeSchema, model.ErrTargetExists},
		{"schema, absent", []model.TableRestore{{Source: "a", Target: "new"}}, model.ModeSchema, nil},
		{"replace of a table with rows", []model.TableRestore{{Source: "a", Target: "full"}}, model.ModeReplace, nil},
		{"two as one", []model.TableRestore{{Source: "a", Target: "new"}, {Source: "b", Target: "new"}}, model.ModeReplace, model.ErrTargetConflict},
		{"the second refused", []model.TableRestore{{Source: "a", Target: "new"}, {Source: "b", Target: "full"}}, model.ModeData, model.ErrTargetNotEmpty},
	} {
		err := targets.Admit(c.r, c.mode)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestRequireEmpty(t *testing.T) {
	if err := (model.Target{Name: "x", Exists: true}).RequireEmpty(); err != nil {
		t.Errorf("an empty database: %v", err)
	}
	if err := (model.Target{Name: "x", Exists: true, Objects: 1}).RequireEmpty(); !errors.Is(err, model.ErrTargetNotEmpty) || !strings.Contains(err.Error(), "(1 tables or views)") {
		t.Errorf("one view: %v", err)
	}
}

// TestInspectTablesOfTargets: a forbidden target is refused before it is
// read; a missing one exists not; an existing one is read with its rows.
func TestInspectTablesOfTargets(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	db := &rowsDB{tables: map[string]map[string]uint64{"shop": {"orders": 5}}}
	s := NewService(store, ClickHouse{Database: db}, nil, coord.Layout{Prefix: "p"}, Options{ControlDatabase: "clickvault"}, slog.New(slog.DiscardHandler))
	if _, err := s.InspectTables(ctx, "ClickVault"); !errors.Is(err, model.ErrForbiddenTarget) || db.asked != 0 {
		t.Errorf("the control database: %v (asked the server %d times)", err, db.asked)
	}
	if got, err := s.InspectTables(ctx, "fresh"); err != nil || got.Exists || got.Rows != nil {
		t.Errorf("a missing database: %+v, %v", got, err)
	}
	if got, err := s.InspectTables(ctx, "shop"); err != nil || !got.Exists || got.Rows["orders"] != 5 {
		t.Errorf("shop: %+v, %v", got, err)
	}
	db.fail = errors.New("server down")
	if _, err := s.InspectTables(ctx, "shop"); !errors.Is(err, db.fail) {
		t.Errorf("a server that fails: %v", err)
	}
}

// rowsDB is a Database that knows databases and their tables' rows.
type rowsDB struct {
	Database
	tables map[string]map[string]uint64
	asked  int
	fail   error
}

func (d *rowsDB) DatabaseExists(_ context.Context, name string) (bool, error) {
	d.asked++
	_, ok := d.tables[name]
	return ok, nil
}

func (d *rowsDB) TableRows(_ context.Context, database string) (map[string]uint64, error) {
	d.asked++
	return d.tables[database], d.fail
}

// TestTableTargetsAdmitSaysWhy: each refusal of an existing table says
// what to do about it: a schema restore creates tables, a table with rows
// is restored under another name or replaced, an empty one dropped first.
func TestTableTargetsAdmitSaysWhy(t *testing.T) {
	targets := model.TableTargets{Database: "shop", Exists: true, Rows: map[string]uint64{"full": 3, "empty": 0}}
	for _, c := range []struct {
		target string
		mode   model.RestoreMode
		says   string
		is     error
	}{
		{"full", model.ModeSchema, "a schema restore creates tables, it does not change one", model.ErrTargetExists},
		{"empty", model.ModeSchema, "a schema restore creates tables, it does not change one", model.ErrTargetExists},
		{"full", model.ModeData, "exists with 3 rows; restore under another name", model.ErrTargetNotEmpty},
		{"empty", model.ModeData, "exists (empty); a restore creates the tables it restores", model.ErrTargetExists},
	} {
		err := targets.Admit([]model.TableRestore{{Source: "a", Target: c.target}}, c.mode)
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s, mode %q: %v, want it to say %q", c.target, c.mode, err, c.says)
		}
	}
}
