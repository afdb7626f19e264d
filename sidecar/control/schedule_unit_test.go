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
	named := func(at time.Time) model.Catalog {
		at = at.UTC()
		b := model.Backup{Meta: model.Meta{Name: model.NameAt(at), Timestamp: at, Status: model.StatusCreated,
			Kind: model.KindFull, Database: "shop", Chain: model.NameAt(at)}}
		return model.BuildCatalog("shop", []model.Backup{b}, nil)
	}
	ahead := named(now.Add(30 * 24 * time.Hour))
	if !s.scheduler.recentBackup(ahead) {
		t.Fatal("a backup named ahead of now, just seen, is not taken for a recent one")
	}
	if due := s.scheduler.notBefore[scheduleKey{coord.BackupSchedule, "shop"}]; due.Sub(now) > time.Hour {
		t.Fatalf("after a backup named 30 days ahead the next is due in %s, want incremental_every (1h)", due.Sub(now).Round(time.Hour))
	}
	now = now.Add(time.Hour + time.Minute)
	if s.scheduler.recentBackup(ahead) {
		t.Fatal("an hour after a backup named ahead was first seen, it still counts as recent: no backup is due")
	}
	next := named(now.Add(30*24*time.Hour + time.Millisecond)) // named after it (uniqueName)
	now = now.Add(time.Minute)
	if !s.scheduler.recentBackup(next) {
		t.Fatal("the backup made then, named after the one ahead, is not taken for a recent one")
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
