package control_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/fakedb"
	"github.com/clickvault/clickvault/sidecar/internal/memcontrol"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
	"github.com/clickvault/clickvault/sidecar/model"
)

// TestMirrorAfterABackupSeesWritersAfterItsLease: the mirror after a
// backup's answer runs once the backup's lease is released (after its
// notification, its answer, a wait for a mirroring slot). Another writer
// that takes the lease in that gap — the CLI's cleanup, another sidecar's
// backup — changes the catalog the backup wrote: the mirror must show
// S3's, not the backup's, or it shows a deleted backup completed and
// another sidecar's new backup deleted.
func TestMirrorAfterABackupSeesWritersAfterItsLease(t *testing.T) {
	for _, c := range []struct {
		name  string
		other func(t *testing.T, other *sidecar.Service, first string) (name string, want model.CatalogStatus)
	}{
		{"cleanup", func(t *testing.T, other *sidecar.Service, first string) (string, model.CatalogStatus) {
			if _, err := other.DeleteBackups(context.Background(), "shop", []string{first}); err != nil {
				t.Fatalf("the other writer's delete: %v", err)
			}
			return first, model.CatalogDeleted
		}},
		{"another sidecar's backup", func(t *testing.T, other *sidecar.Service, _ string) (string, model.CatalogStatus) {
			b, err := other.Backup(context.Background(), sidecar.BackupRequest{Database: "shop", Kind: model.KindFull, WaitForLease: true})
			if err != nil {
				t.Fatalf("the other sidecar's backup: %v", err)
			}
			return b.Name, model.CatalogCompleted
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			store := memstore.New()
			db := fakedb.New(store)
			db.Create("shop", map[string]uint64{"orders": 10})
			const held = "00000000-0000-4000-8000-0000000000aa"
			watch := &catalogWatch{store: store, seen: make(chan mirrorRead, 1), hold: held,
				held: make(chan struct{}), release: make(chan struct{})}
			b := &bed{t: t, plane: memcontrol.New("clickvault").WithProofKey(testProofKey), db: db, store: store,
				wrap: func(p control.ControlPlane) control.ControlPlane { watch.ControlPlane = p; return watch }}
			b.start(control.Options{Databases: []string{"shop"}})
			first, _ := backupAndMirror(t, b, watch)
			b.request("clickvault", control.Request{ID: held, Action: control.ActionBackup, Database: "shop", Kind: "full"})
			select {
			case <-watch.held: // the backup's lease is released; its answer waits
			case <-time.After(10 * time.Second):
				t.Fatal("the backup's answer was not written within 10 s")
			}
			other := sidecar.NewService(store, db.Ports(), nil, coord.Layout{Prefix: "p"}, sidecar.Options{
				FullEvery: 24 * time.Hour, PollInterval: time.Millisecond, Holder: coord.Holder{Name: "other", Stable: true}},
				slog.New(slog.DiscardHandler))
			name, want := c.other(t, other, first)
			close(watch.release)
			b.expect(held, control.StateSucceeded, "")
			select {
			case <-watch.seen: // the held backup's mirror read the rows: it runs now
			case <-time.After(10 * time.Second):
				t.Fatal("no mirror read shop's rows within 10 s of the answer")
			}
			_, rows := backupAndMirror(t, b, watch) // what the held backup's mirror left
			if rows[name] != want {
				t.Errorf("backup %s, changed by another writer after the backup's lease, is %q in the backups table after the backup's mirror, want %q",
					name, rows[name], want)
			}
		})
	}
}
