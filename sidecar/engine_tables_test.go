package sidecar_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

// TestRestoreSomeTables: a dropped table comes back from a chosen link
// of the chain into its database, beside the tables still there; a table
// with rows is never restored over unless replace says so; a schema
// restore creates it empty; a renamed copy goes into another database.
func TestRestoreSomeTables(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	ctx := context.Background()
	e.backup(t, "")
	e.db.Create("shop", map[string]uint64{"orders": 20, "items": 5})
	second := e.backup(t, "")
	e.db.Create("shop", map[string]uint64{"orders": 30, "items": 5})
	e.backup(t, "")
	e.db.Create("shop", map[string]uint64{"items": 6}) // orders dropped, items changed

	orders := []model.TableRestore{{Source: "orders", Target: "orders"}}
	res, err := e.Restore(ctx, sidecar.RestoreRequest{Database: "shop", Backup: second.Name, Tables: orders})
	if err != nil || res.Tables["orders"] != 20 || e.db.Tables("shop")["items"] != 6 {
		t.Fatalf("restore the dropped table from the second link: %v, %+v, shop %v", err, res, e.db.Tables("shop"))
	}
	items := []model.TableRestore{{Source: "items", Target: "items"}}
	if _, err := e.Restore(ctx, sidecar.RestoreRequest{Database: "shop", Tables: items}); !errors.Is(err, model.ErrTargetNotEmpty) ||
		!strings.Contains(err.Error(), "mode replace") {
		t.Fatalf("restore over a table with rows: %v", err)
	}
	if _, err := e.Restore(ctx, sidecar.RestoreRequest{Database: "shop", Tables: items, Mode: model.ModeReplace}); err != nil ||
		e.db.Tables("shop")["items"] != 5 {
		t.Fatalf("replace: %v, shop %v", err, e.db.Tables("shop"))
	}
	renamed := []model.TableRestore{{Source: "orders", Target: "orders_copy"}}
	if _, err := e.Restore(ctx, sidecar.RestoreRequest{Database: "shop", Target: "analysis", Tables: renamed}); err != nil ||
		e.db.Tables("analysis")["orders_copy"] != 30 {
		t.Fatalf("renamed copy into a new database: %v, %v", err, e.db.Tables("analysis"))
	}
	schema := []model.TableRestore{{Source: "orders", Target: "orders_empty"}}
	if _, err := e.Restore(ctx, sidecar.RestoreRequest{Database: "shop", Target: "analysis", Tables: schema, Mode: model.ModeSchema}); err != nil {
		t.Fatalf("schema restore: %v", err)
	}
	if rows, ok := e.db.Tables("analysis")["orders_empty"]; !ok || rows != 0 {
		t.Fatalf("schema restore made %v", e.db.Tables("analysis"))
	}
}

// TestRestoreTablesRefusals: tables a backup does not hold, partitions of
// two tables, replace of a whole database, a forbidden target.
func TestRestoreTablesRefusals(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	ctx := context.Background()
	e.backup(t, "")
	two := []model.TableRestore{{Source: "orders", Target: "a"}, {Source: "items", Target: "b"}}
	for _, c := range []struct {
		req  sidecar.RestoreRequest
		want string
	}{
		{sidecar.RestoreRequest{Database: "shop", Target: "x", Tables: []model.TableRestore{{Source: "nope", Target: "nope"}}}, "holds table(s) nope"},
		{sidecar.RestoreRequest{Database: "shop", Target: "x", Tables: two, Partitions: []string{"1"}}, "exactly one table"},
		{sidecar.RestoreRequest{Database: "shop", Target: "x", Mode: model.ModeReplace}, "name them"},
		{sidecar.RestoreRequest{Database: "shop", Target: "system", Tables: two}, "system database"},
		{sidecar.RestoreRequest{Database: "shop", Target: "x", Tables: []model.TableRestore{{Source: "orders", Target: "a"}, {Source: "items", Target: "a"}}}, "target of two tables"},
	} {
		if _, err := e.Restore(ctx, c.req); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.req, err, c.want)
		}
	}
}

// TestTableSetChains: a backup of some tables holds only them; a change of
// the set starts a new chain; the newest backup holding a table is found.
func TestTableSetChains(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	ctx := context.Background()
	all := e.backup(t, "")
	noItems, _ := model.NewTableSet(nil, []string{"items"})
	b, err := e.Backup(ctx, sidecar.BackupRequest{Database: "shop", Tables: noItems, RequestID: "x1"})
	if err != nil || b.Kind != model.KindFull || len(b.Tables) != 1 || b.TableSet.String() != "all but items" {
		t.Fatalf("a backup without items: %v, kind %s, tables %v", err, b.Kind, b.Tables)
	}
	inc, err := e.Backup(ctx, sidecar.BackupRequest{Database: "shop", Tables: noItems, RequestID: "x2"})
	if err != nil || inc.Kind != model.KindIncremental || inc.Base != b.Name {
		t.Fatalf("the next backup of the same set: %v, %s on %q", err, inc.Kind, inc.Base)
	}
	if _, err := e.Backup(ctx, sidecar.BackupRequest{Database: "shop", Kind: model.KindIncremental, RequestID: "x3"}); !errors.Is(err, model.ErrTableSetChanged) {
		t.Fatalf("an incremental of every table on the set's chain: %v", err)
	}
	got, err := e.ChooseBackup(ctx, "shop", "", inc.Timestamp, "items")
	if err != nil || got.Name != all.Name {
		t.Fatalf("the newest backup holding items: %v, %s; want %s", err, got.Name, all.Name)
	}
	only, _ := model.NewTableSet([]string{"ghost"}, nil)
	if _, err := e.Backup(ctx, sidecar.BackupRequest{Database: "shop", Tables: only, RequestID: "x4"}); !errors.Is(err, model.ErrTableMissing) {
		t.Fatalf("a backup of a table that does not exist: %v", err)
	}
}

// TestVerifyComparesParts: verify compares with the backup's parts and
// runs CHECK TABLE; a damaged table fails it, and the outcome and restore
// time are kept for the catalog.
func TestVerifyComparesParts(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	ctx := context.Background()
	b := e.backup(t, "")
	res, err := e.Verify(ctx, "shop", "", nil)
	if err != nil || len(res.Tables) != 2 || !res.Tables[0].FromParts || res.Tables[1].Expected != 10 {
		t.Fatalf("verify: %v, %+v", err, res.Tables)
	}
	e.db.DamageAll("orders")
	res, err = e.Verify(ctx, "shop", b.Name, nil)
	if !errors.Is(err, model.ErrVerifyMismatch) || res.Mismatches != 1 || !strings.Contains(res.Tables[1].CheckTable, "checksum mismatch") {
		t.Fatalf("verify of a damaged restore: %v, %+v", err, res.Tables)
	}
	results, err := e.Results(ctx, "shop")
	rec := results.Verifies
	if err != nil || rec[b.Name].Verdict != model.VerifyFailed || rec[b.Name].Problem == "" {
		t.Fatalf("recorded verify: %v, %+v", err, rec)
	}
}
