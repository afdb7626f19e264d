package dbtest

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

// testColumns: a table's physical columns in order, as a partition replace
// compares them; a missing table has none.
func testColumns(t *testing.T, s Server) {
	s.Create("cvtest_cols", map[string]uint64{"plain": 1})
	s.SetPartitions("cvtest_cols", "parted", map[string]uint64{"1": 1})
	for table, want := range map[string][]model.Column{
		"plain":  {{Name: "x", Type: "UInt64"}},
		"parted": {{Name: "p", Type: "UInt32"}, {Name: "x", Type: "UInt64"}},
		"ghost":  nil,
	} {
		got, err := s.TableColumns(ctxOf(t), "cvtest_cols", table)
		if err != nil || len(got) != len(want) || len(want) > 0 && !reflect.DeepEqual(got, want) {
			t.Errorf("TableColumns of %s: %v, %v; want %v", table, got, err, want)
		}
	}
}

// testStoppedView: a refreshable view created stopped is listed and
// counted with the tables, has no rows of its own, and never refreshed
// into its TO table; a second one of the name, and one in a missing
// database, are refused.
func testStoppedView(t *testing.T, s Server) {
	ctx := ctxOf(t)
	s.Create("cvtest_view", map[string]uint64{"sink": 0})
	create := "CREATE MATERIALIZED VIEW `cvtest_view`.`v` REFRESH EVERY 1 HOUR TO `cvtest_view`.`sink` " +
		"EMPTY AS SELECT toUInt64(1) AS x"
	if err := s.CreateStoppedView(ctx, "cvtest_view", "v", create); err != nil {
		t.Fatalf("CreateStoppedView: %v", err)
	}
	if names, err := s.TableNames(ctx, "cvtest_view"); err != nil || !slices.Equal(names, []string{"sink", "v"}) {
		t.Errorf("TableNames: %v, %v; want [sink v]", names, err)
	}
	if n, err := s.TableCount(ctx, "cvtest_view"); err != nil || n != 2 {
		t.Errorf("TableCount: %d, %v; want 2", n, err)
	}
	if o := must[sidecar.Objects](t, "Objects")(s.Objects(ctx, "cvtest_view")); o.Tables["v"].UUID == "" {
		t.Errorf("Objects: %+v; want v with a UUID", o)
	}
	wantRows(t, s, "cvtest_view", map[string]uint64{"sink": 0})
	if err := s.CreateStoppedView(ctx, "cvtest_view", "v", create); !errors.Is(err, sidecar.ErrRefused) {
		t.Errorf("CreateStoppedView of one that exists: %v; want ErrRefused", err)
	}
	missing := "CREATE MATERIALIZED VIEW `cvtest_none`.`v` REFRESH EVERY 1 HOUR TO `cvtest_none`.`sink` " +
		"EMPTY AS SELECT toUInt64(1) AS x"
	if err := s.CreateStoppedView(ctx, "cvtest_none", "v", missing); !errors.Is(err, sidecar.ErrRefused) {
		t.Errorf("CreateStoppedView in a missing database: %v; want ErrRefused", err)
	}
}
