package sidecar_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
	"github.com/clickvault/clickvault/sidecar/model"
)

// TestCatalogIndexIsOnlyACache: the catalog read through the index equals
// the metadata's truth, whatever the index says of a backup that changed.
func TestCatalogIndexIsOnlyACache(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	svc := sidecar.NewService(store, sidecar.ClickHouse{}, nil, testLayout, sidecar.Options{}, slog.New(slog.DiscardHandler))
	f := sidecar.FakeBackup(model.KindFull, sidecar.FakeName(0), model.StatusCreated, nil)
	i1 := sidecar.FakeBackup(model.KindIncremental, sidecar.FakeName(time.Hour), model.StatusCreated, &f)
	i2 := sidecar.FakeBackup(model.KindIncremental, sidecar.FakeName(2*time.Hour), model.StatusCreating, &i1)
	for _, b := range []model.Backup{f, i1, i2} {
		if err := svc.WriteMeta(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	svc.WriteIndex(ctx, "db", []model.Backup{f, i1, i2}, time.Now())
	// After the index was written: i2 completed, a new i3 appeared, and i1's
	// folder was deleted (by hand).
	i2.Status = model.StatusCreated
	i3 := sidecar.FakeBackup(model.KindIncremental, sidecar.FakeName(3*time.Hour), model.StatusCreated, &i2)
	for _, b := range []model.Backup{i2, i3} {
		if err := svc.WriteMeta(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	_ = store.Delete(ctx, []string{coord.MetaKey(i1.Folder)})

	store.ResetGets()
	cat, err := svc.Catalog(ctx, "db")
	if err != nil {
		t.Fatal(err)
	}
	// Reads: the index, i2 (running in the index), i3 (not in it). f comes
	// from the index; i1 is gone because its folder is.
	if gets := store.ResetGets(); gets != 3 {
		t.Errorf("the catalog made %d GETs, want 3", gets)
	}
	// f is the chain; i2 and i3 lost their base i1 and are reported as
	// orphans, with the status their metadata (not the index) has.
	if all := cat.All(); len(all) != 1 || all[0].Name != f.Name || !all[0].Completed() {
		t.Fatalf("chains %v, want only the full %s", all, f.Name)
	}
	if len(cat.Orphans) != 2 || !strings.Contains(cat.Orphans[0].Reason+cat.Orphans[1].Reason, i1.Name) {
		t.Fatalf("orphans %v, want i2 and i3, whose base %s is gone", cat.Orphans, i1.Name)
	}

	// Entries marked DELETING are never trusted: the metadata decides.
	svc.WriteIndex(ctx, "db", sidecar.MarkDeleted([]model.Backup{f}, []model.Deletion{{Backup: f}}), time.Now())
	store.ResetGets()
	if _, err := svc.Catalog(ctx, "db"); err != nil {
		t.Fatal(err)
	}
	if gets := store.ResetGets(); gets != 4 { // the index, f, i2, i3
		t.Errorf("with f marked deleting the catalog made %d GETs, want 4", gets)
	}
}
