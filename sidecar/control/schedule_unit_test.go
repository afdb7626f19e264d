package control

import (
	"context"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
	"github.com/clickvault/clickvault/sidecar/model"
)

// TestABackupNamedAheadDoesNotSilenceTheSchedule: a backup named by a
// clock that ran ahead (30 days, then corrected) counts as made when this
// sidecar first saw it: the next is due incremental_every after that, not
// after its name (it was not due for 721 hours, and the backups named
// after it kept it so), and the one made then counts from when it is seen.
func TestABackupNamedAheadDoesNotSilenceTheSchedule(t *testing.T) {
	s := newUnitSidecar("a", memstore.New(), nil)
	s.base.opts.IncrementalEvery = time.Hour
	now := time.Now()
	s.base.now = func() time.Time { return now }
	named := func(at time.Time) model.Backup {
		at = at.UTC()
		return model.Backup{Meta: model.Meta{Name: model.NameAt(at), Timestamp: at, Status: model.StatusCreated,
			Kind: model.KindFull, Database: "shop", Chain: model.NameAt(at)}}
	}
	catalog := func(bs ...model.Backup) model.Catalog { return model.BuildCatalog("shop", bs, nil) }
	ahead := named(now.Add(30 * 24 * time.Hour))
	if !s.scheduler.recentBackup(catalog(ahead)) {
		t.Fatal("a backup named ahead of now, just seen, is not taken for a recent one")
	}
	if due := s.scheduler.notBefore[scheduleKey{coord.BackupSchedule, "shop"}]; due.Sub(now) > time.Hour {
		t.Fatalf("after a backup named 30 days ahead the next is due in %s, want incremental_every (1h)", due.Sub(now).Round(time.Hour))
	}
	now = now.Add(time.Hour + time.Minute)
	if s.scheduler.recentBackup(catalog(ahead)) {
		t.Fatal("an hour after a backup named ahead was first seen, it still counts as recent: no backup is due")
	}
	// The one made then is named after it (uniqueName), ahead too; the
	// two of them count from when the newest was first seen, hour after
	// hour (each counting from its own first look, they took turns at
	// being made now, and none was ever due).
	next := named(now.Add(30*24*time.Hour + time.Millisecond))
	for hour := range 3 {
		now = now.Add(time.Minute)
		if !s.scheduler.recentBackup(catalog(ahead, next)) {
			t.Fatalf("hour %d: the newest backup, just made, is not taken for a recent one", hour)
		}
		now = now.Add(time.Hour)
		if s.scheduler.recentBackup(catalog(ahead, next)) {
			t.Fatalf("hour %d: an hour after the newest backup named ahead was made, no backup is due", hour)
		}
		ahead, next = next, named(next.Time().Add(time.Millisecond))
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
