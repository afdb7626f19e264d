package dbtest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

func tableUUID(t *testing.T, s Server, database, table string) string {
	t.Helper()
	o := must[sidecar.Objects](t, "Objects "+database)(s.Objects(ctxOf(t), database))
	id, ok := o.Tables[table]
	if !ok {
		t.Fatalf("Objects of %s: no table %s in %v", database, table, o.Tables)
	}
	return id.UUID
}

// testTables: each table has a UUID of its own that stays while it lives,
// and so has the database; a missing table has none.
func testTables(t *testing.T, s Server) {
	s.Create("cvtest_uuid", map[string]uint64{"a": 1, "b": 2})
	a, b := tableUUID(t, s, "cvtest_uuid", "a"), tableUUID(t, s, "cvtest_uuid", "b")
	if a == "" || a == b {
		t.Errorf("UUIDs %q and %q: want two, different", a, b)
	}
	if again := tableUUID(t, s, "cvtest_uuid", "a"); again != a {
		t.Errorf("UUID of a changed from %s to %s", a, again)
	}
	o := must[sidecar.Objects](t, "Objects")(s.Objects(ctxOf(t), "cvtest_uuid"))
	if _, ok := o.Tables["ghost"]; ok || len(o.Tables) != 2 || o.UUID == "" || o.UUID == a || o.UUID == b || o.Tables["a"].UUID != a {
		t.Errorf("Objects: %+v; want the database's own UUID and a and b only", o)
	}
}

// testExchangeTables: EXCHANGE TABLES swaps two tables whole: rows, UUIDs
// and partitions go with them.
func testExchangeTables(t *testing.T, s Server) {
	s.Create("cvtest_swap", map[string]uint64{"live": 5})
	s.SetPartitions("cvtest_swap", "staging", map[string]uint64{"202401": 2, "202402": 1})
	live, staging := tableUUID(t, s, "cvtest_swap", "live"), tableUUID(t, s, "cvtest_swap", "staging")
	if err := s.ExchangeTables(ctxOf(t), "cvtest_swap", "live", "staging"); err != nil {
		t.Fatalf("ExchangeTables: %v", err)
	}
	wantRows(t, s, "cvtest_swap", map[string]uint64{"live": 3, "staging": 5})
	if got := tableUUID(t, s, "cvtest_swap", "live"); got != staging {
		t.Errorf("live's UUID after the swap: %s; want staging's %s", got, staging)
	}
	if got := tableUUID(t, s, "cvtest_swap", "staging"); got != live {
		t.Errorf("staging's UUID after the swap: %s; want live's %s", got, live)
	}
	wantPartitions(t, s, "cvtest_swap", "live", []model.Partition{{ID: "202401", Value: "202401", Rows: 2}, {ID: "202402", Value: "202402", Rows: 1}})
}

func wantPartitions(t *testing.T, s Server, database, table string, want []model.Partition) {
	t.Helper()
	got := must[[]model.Partition](t, "TablePartitions")(s.TablePartitions(ctxOf(t), database, table))
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("partitions of %s.%s: %+v; want %+v", database, table, got, want)
	}
}

// testPartitions: a table's active partitions by id, with the key's value
// as text and their rows; a table without a partition key is one
// partition "all" whose value is tuple(); an empty table has none.
func testPartitions(t *testing.T, s Server) {
	s.Create("cvtest_parts", map[string]uint64{"plain": 4, "empty": 0})
	s.SetPartitions("cvtest_parts", "monthly", map[string]uint64{"202401": 3, "202402": 4})
	wantPartitions(t, s, "cvtest_parts", "monthly", []model.Partition{{ID: "202401", Value: "202401", Rows: 3}, {ID: "202402", Value: "202402", Rows: 4}})
	wantPartitions(t, s, "cvtest_parts", "plain", []model.Partition{{ID: "all", Value: "tuple()", Rows: 4}})
	wantPartitions(t, s, "cvtest_parts", "empty", nil)
	wantRows(t, s, "cvtest_parts", map[string]uint64{"plain": 4, "empty": 0, "monthly": 7})
}

// testReplacePartition: REPLACE PARTITION takes one partition from a table
// of the same structure and leaves the others; a partition the source
// lacks is refused (ErrRefused) and changes nothing.
func testReplacePartition(t *testing.T, s Server) {
	s.Create("cvtest_replace", nil)
	s.SetPartitions("cvtest_replace", "live", map[string]uint64{"202401": 3, "202402": 4})
	s.SetPartitions("cvtest_replace", "staging", map[string]uint64{"202401": 9})
	ctx := ctxOf(t)
	if err := s.ReplacePartition(ctx, "cvtest_replace", "live", "202401", "staging"); err != nil {
		t.Fatalf("ReplacePartition: %v", err)
	}
	want := []model.Partition{{ID: "202401", Value: "202401", Rows: 9}, {ID: "202402", Value: "202402", Rows: 4}}
	wantPartitions(t, s, "cvtest_replace", "live", want)
	err := s.ReplacePartition(ctx, "cvtest_replace", "live", "202402", "staging")
	if !errors.Is(err, sidecar.ErrRefused) {
		t.Errorf("ReplacePartition from a source without the partition: %v; want ErrRefused", err)
	}
	wantPartitions(t, s, "cvtest_replace", "live", want)
	wantRows(t, s, "cvtest_replace", map[string]uint64{"live": 13, "staging": 9})
}
