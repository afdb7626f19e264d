package sidecar_test

import (
	"context"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// putSeedBackup writes a completed backup of database in the seed tool's
// layout ({prefix}/full/{name}/, no database in the path).
func putSeedBackup(t *testing.T, e *engine, database string, at time.Time) string {
	t.Helper()
	name := model.NameAt(at)
	folder := testLayout.LegacyKindRoot(string(model.KindFull)) + name + "/"
	data, err := model.EncodeMeta(model.Meta{Version: 1, BackupID: name, Kind: model.KindFull, Timestamp: at,
		Status: model.StatusCreated, Database: database, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	for key, body := range map[string][]byte{coord.MetaKey(folder): data, coord.BackupFileKey(folder): []byte("<B/>")} {
		if _, err := e.store.Put(context.Background(), key, body, coord.PutCondition{}); err != nil {
			t.Fatal(err)
		}
	}
	return name
}

// TestSeedLayoutIsReadOncePerRound: the seed tool's folders, which mix
// every database, are listed and their metadata read once for the
// catalogs of many databases, each catalog keeping its own; a cleanup that
// deletes one of them makes the next catalog read them again.
func TestSeedLayoutIsReadOncePerRound(t *testing.T) {
	e := newEngine(t, sidecar.Options{Retention: model.Retention{KeepFullBackups: 1}})
	now := time.Now().UTC()
	old := putSeedBackup(t, e, "shop", now.Add(-3*time.Hour))
	putSeedBackup(t, e, "shop", now.Add(-2*time.Hour))
	putSeedBackup(t, e, "hr", now.Add(-time.Hour))
	e.store.ResetGets()
	for _, db := range []string{"shop", "hr", "tenant_a", "tenant_b"} {
		cat, err := e.Catalog(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"shop": 2, "hr": 1}[db]
		if n := len(cat.All()); n != want {
			t.Fatalf("catalog of %s: %d seed-layout backups, want %d", db, n, want)
		}
	}
	// Four catalogs: an index GET each (none there), and the seed layout's
	// three metadata objects once.
	if gets := e.store.ResetGets(); gets != 4+3 {
		t.Fatalf("four catalogs made %d GETs, want 7 (the seed layout's metadata read once)", gets)
	}
	// Retention keeps one chain of shop: the older seed backup goes, and
	// shop's catalog no longer shows it.
	if _, err := e.Cleanup(context.Background(), "shop", false); err != nil {
		t.Fatal(err)
	}
	cat, err := e.Catalog(context.Background(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cat.Find(old); ok || len(cat.All()) != 1 {
		t.Fatalf("after the cleanup shop's catalog still shows %s (%d backups)", old, len(cat.All()))
	}
}
