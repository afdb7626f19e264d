package sidecar

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
	"github.com/clickvault/clickvault/sidecar/model"
)

// A restore's shape and targets at their edges: the limits of a
// partition list, each refusal of a table's target, the names a table
// restore reads. Written for the mutation run (docs/mutants.md).

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
