package control

import (
	"context"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
	"github.com/clickvault/clickvault/sidecar/model"
)

// TestABackupNamedAheadDoesNotSilenceTheSchedule: a backup dated by a
// clock that ran ahead (30 days, then corrected) counts as made when this
// sidecar first saw it: the next is due incremental_every after that, not
// after its date (it was not due for 721 hours). The backups made after
// it, named after it (uniqueName) but dated by the clock, count as they
// are dated; two dated ahead each count from their own first look (one
// memory for both had them take turns at being made now, never due).
func TestABackupNamedAheadDoesNotSilenceTheSchedule(t *testing.T) {
	s := newUnitSidecar("a", memstore.New(), nil)
	s.base.opts.IncrementalEvery = time.Hour
	now := time.Now()
	s.base.now = func() time.Time { return now }
	backup := func(name, at time.Time) model.Backup {
		return model.Backup{Meta: model.Meta{Name: model.NameAt(name), Timestamp: at.UTC(), Status: model.StatusCreated,
			Kind: model.KindFull, Database: "shop", Chain: model.NameAt(name)}}
	}
	catalog := func(bs ...model.Backup) model.Catalog { return model.BuildCatalog("shop", bs, nil) }
	aheadAt := now.Add(30 * 24 * time.Hour)
	ahead := backup(aheadAt, aheadAt)
	if !s.scheduler.recentBackup(catalog(ahead)) {
		t.Fatal("a backup dated ahead of now, just seen, is not taken for a recent one")
	}
	if due := s.scheduler.notBefore[scheduleKey{coord.BackupSchedule, "shop"}]; due.Sub(now) > time.Hour {
		t.Fatalf("after a backup dated 30 days ahead the next is due in %s, want incremental_every (1h)", due.Sub(now).Round(time.Hour))
	}
	now = now.Add(time.Hour + time.Minute)
	if s.scheduler.recentBackup(catalog(ahead)) {
		t.Fatal("an hour after a backup dated ahead was first seen, it still counts as recent: no backup is due")
	}
	made := backup(aheadAt.Add(time.Millisecond), now) // named after it, dated now
	now = now.Add(time.Minute)
	if !s.scheduler.recentBackup(catalog(ahead, made)) {
		t.Fatal("a backup made a minute ago, named after one dated ahead, is not taken for a recent one")
	}
	now = now.Add(time.Hour)
	if s.scheduler.recentBackup(catalog(ahead, made)) {
		t.Fatal("an hour after the last backup, none is due")
	}
	alsoAhead := backup(aheadAt.Add(2*time.Millisecond), aheadAt.Add(time.Minute)) // the clock still ahead when it was made
	for look := range 3 {
		recent := s.scheduler.recentBackup(catalog(ahead, made, alsoAhead))
		if want := look == 0; recent != want {
			t.Fatalf("look %d at a second backup dated ahead, first seen at look 0: recent %v, want %v", look, recent, want)
		}
		now = now.Add(time.Hour + time.Minute)
	}
}

// TestARequestOfTheDefaultDatabaseHoldsBackOnlyIt: a backup request of ""
// (the default database: POST /v1/backups {}) waiting holds back the
// default database's scheduled backup, not every database's.
func TestARequestOfTheDefaultDatabaseHoldsBackOnlyIt(t *testing.T) {
	s := newUnitSidecar("a", memstore.New(), nil)
	p := &schedulePass{scheduler: s.scheduler, read: true,
		pending: []PendingRequest{{Request: Request{ID: "x", Action: ActionBackup, Database: ""}}}}
	for db, want := range map[string]bool{"shop": true, "tenant_0999": false} {
		if waits, _ := p.waiting(context.Background(), ActionBackup, db); waits != want {
			t.Errorf("a backup request of the default database (shop) waiting: %s waits %v, want %v", db, waits, want)
		}
	}
}
