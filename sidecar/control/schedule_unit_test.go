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
// clock that ran ahead (30 days, then corrected) counts as made now: the
// next is due incremental_every from now, not from its name (it was not
// due for 721 hours, and the backups named after it kept it so).
func TestABackupNamedAheadDoesNotSilenceTheSchedule(t *testing.T) {
	s := newUnitSidecar("a", memstore.New(), nil)
	s.base.opts.IncrementalEvery = time.Hour
	ahead := time.Now().Add(30 * 24 * time.Hour).UTC()
	b := model.Backup{Meta: model.Meta{Name: model.NameAt(ahead), Timestamp: ahead, Status: model.StatusCreated,
		Kind: model.KindFull, Database: "shop", Chain: model.NameAt(ahead)}}
	if !s.scheduler.recentBackup(model.BuildCatalog("shop", []model.Backup{b}, nil)) {
		t.Fatal("a backup named ahead of now is not taken for a recent one")
	}
	if due := s.scheduler.notBefore[scheduleKey{coord.BackupSchedule, "shop"}]; time.Until(due) > time.Hour+time.Minute {
		t.Fatalf("after a backup named 30 days ahead the next is due in %s, want incremental_every (1h) from now", time.Until(due).Round(time.Hour))
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
