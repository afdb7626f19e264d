package controltest

import (
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/model"
)

// testExpireDeleted: the backups and sets whose newest row says deleted,
// written before the time given, go with every row they had (on the
// server a backup's older running row, left in its part, must not come
// back as the newest); every other row stays.
func testExpireDeleted(t *testing.T, p Plane) {
	ctx := ctxOf(t)
	kept := catalogRow("shop", "20260101T000000000Z", model.CatalogCompleted)
	gone := catalogRow("shop", "20260102T000000000Z", model.CatalogRunning)
	goneElsewhere := catalogRow("ops", "20260103T000000000Z", model.CatalogDeleted)
	openSet := control.SetSummary{ID: "20260102T000000000Z", Database: "shop", State: setmodel.SetOpen, Kind: "full",
		Shards: []int{1}, CreatedAt: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}
	keptSet := openSet
	keptSet.ID, keptSet.State = "20260101T000000000Z", setmodel.SetCompleted
	for _, write := range [][]control.CatalogRow{{kept, gone, goneElsewhere}, {deleted(gone)}} {
		if err := p.WriteCatalog(ctx, write); err != nil {
			t.Fatalf("WriteCatalog: %v", err)
		}
	}
	deletedSet := openSet
	deletedSet.State = setmodel.SetDeleted
	for _, write := range [][]control.SetSummary{{openSet, keptSet}, {deletedSet}} {
		if err := p.WriteSets(ctx, write); err != nil {
			t.Fatalf("WriteSets: %v", err)
		}
	}
	if err := p.ExpireDeleted(ctx, time.Now().Add(-time.Hour)); err != nil {
		t.Fatalf("ExpireDeleted of rows written before an hour ago: %v", err)
	}
	if names := catalogNames(t, p, "shop"); len(names) != 2 {
		t.Fatalf("rows of shop after an expiry that reaches none: %v, want both", names)
	}
	if err := p.ExpireDeleted(ctx, time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("ExpireDeleted: %v", err)
	}
	if names := catalogNames(t, p, "shop"); len(names) != 1 || names[0] != kept.Name+" completed" {
		t.Errorf("rows of shop after the expiry: %v, want only %s completed (the deleted backup's older running row gone too)", names, kept.Name)
	}
	if names := catalogNames(t, p, "ops"); len(names) != 0 {
		t.Errorf("rows of ops after the expiry: %v, want none", names)
	}
	sets, err := p.SetRows(ctx, "shop")
	if err != nil || len(sets) != 1 || sets[0].ID != keptSet.ID || sets[0].State != setmodel.SetCompleted {
		t.Errorf("sets of shop after the expiry: %+v, %v; want only %s completed (the deleted set's open row gone too)", sets, err, keptSet.ID)
	}
}

func deleted(r control.CatalogRow) control.CatalogRow {
	r.Status = model.CatalogDeleted
	return r
}

// catalogNames lists a database's backups as "name status".
func catalogNames(t *testing.T, p Plane, database string) []string {
	t.Helper()
	rows, err := p.CatalogRows(ctxOf(t), database)
	if err != nil {
		t.Fatalf("CatalogRows: %v", err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Name+" "+string(r.Status))
	}
	return out
}
