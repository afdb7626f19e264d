package sidecar_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
	"github.com/clickvault/clickvault/sidecar/model"
)

// chainInStore writes a full and n incrementals of database db, an hour
// apart, each with an empty manifest (a sound chain: the check before an
// incremental confirms it by listing), and the catalog index over them as
// checked at scanned.
func chainInStore(t *testing.T, svc *sidecar.Service, store *memstore.ObjectStore, n int, scanned time.Time) []model.Backup {
	t.Helper()
	ctx := context.Background()
	chain := []model.Backup{sidecar.FakeBackup(model.KindFull, sidecar.FakeName(0), model.StatusCreated, nil)}
	for i := 1; i <= n; i++ {
		chain = append(chain, sidecar.FakeBackup(model.KindIncremental, sidecar.FakeName(time.Duration(i)*time.Hour), model.StatusCreated, &chain[i-1]))
	}
	manifest := []byte("<config><contents></contents></config>")
	summary := model.SummarizeObjects(model.Manifest{}.Objects(uint64(len(manifest))))
	for i := range chain {
		chain[i].Objects = &summary
		if _, err := store.Put(ctx, coord.BackupFileKey(chain[i].Folder), manifest, coord.PutCondition{}); err != nil {
			t.Fatal(err)
		}
		if err := svc.WriteMeta(ctx, chain[i]); err != nil {
			t.Fatal(err)
		}
	}
	svc.WriteIndex(ctx, "db", chain, scanned)
	return chain
}

func newIndexedService(store *memstore.ObjectStore, now time.Time) *sidecar.Service {
	svc := sidecar.NewService(store, sidecar.ClickHouse{}, nil, testLayout, sidecar.Options{FullEvery: 30 * 24 * time.Hour}, slog.New(slog.DiscardHandler))
	svc.SetClock(func() time.Time { return now })
	return svc
}

// TestBackupPlansFromTheIndex: with a current index, planning a backup on
// a chain of 50 reads the index and the base's metadata, not 51 objects.
func TestBackupPlansFromTheIndex(t *testing.T) {
	store := memstore.New()
	now := sidecar.T0.Add(60 * time.Hour)
	svc := newIndexedService(store, now)
	chain := chainInStore(t, svc, store, 50, now.Add(-time.Hour))
	store.ResetGets()
	_, plan, err := svc.PlanBackup(context.Background(), sidecar.BackupRequest{Database: "db"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Kind != model.KindIncremental || plan.Base.Name != chain[50].Name {
		t.Fatalf("plan %s on %s, want an incremental on %s", plan.Kind, plan.Base.Name, chain[50].Name)
	}
	if gets := store.ResetGets(); gets != 2 {
		t.Fatalf("planning made %d GETs, want 2 (the index and the base's metadata)", gets)
	}
}

// TestBackupDoesNotTrustAWrongIndex: an index that still calls the newest
// backup completed while its metadata says it is being deleted (a lease
// holder that wrote late) must not make it a base: the base's metadata is
// read again, every metadata object is scanned, and the backup before it
// becomes the base.
func TestBackupDoesNotTrustAWrongIndex(t *testing.T) {
	store := memstore.New()
	now := sidecar.T0.Add(10 * time.Hour)
	svc := newIndexedService(store, now)
	chain := chainInStore(t, svc, store, 5, now.Add(-time.Hour))
	doomed := chain[5]
	doomed.Status = model.StatusDeleting
	if err := svc.WriteMeta(context.Background(), doomed); err != nil {
		t.Fatal(err)
	}
	_, plan, err := svc.PlanBackup(context.Background(), sidecar.BackupRequest{Database: "db"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Base.Name != chain[4].Name {
		t.Fatalf("plan on %s, want %s: %s is being deleted", plan.Base.Name, chain[4].Name, doomed.Name)
	}
}

// TestBackupScansFullyOnceADay: an index not checked against the metadata
// for a day is not planned from; every metadata object is read.
func TestBackupScansFullyOnceADay(t *testing.T) {
	store := memstore.New()
	now := sidecar.T0.Add(60 * time.Hour)
	svc := newIndexedService(store, now)
	chainInStore(t, svc, store, 20, now.Add(-25*time.Hour))
	store.ResetGets()
	cat, _, err := svc.PlanBackup(context.Background(), sidecar.BackupRequest{Database: "db"})
	if err != nil {
		t.Fatal(err)
	}
	if gets := store.ResetGets(); gets < 21 {
		t.Fatalf("planning made %d GETs, want a read of all 21 metadata objects", gets)
	}
	if !cat.Scanned.Equal(now) {
		t.Fatalf("catalog scanned at %v, want now (%v)", cat.Scanned, now)
	}
}
