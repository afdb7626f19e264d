package control_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

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
			h := startHeldBackup(t)
			name, want := c.other(t, otherService(h.store, h.db), h.first)
			close(h.watch.release)
			h.b.expect(heldRequest, control.StateSucceeded, "")
			select {
			case <-h.watch.seen: // the held backup's mirror read the rows: it runs now
			case <-time.After(10 * time.Second):
				t.Fatal("no mirror read shop's rows within 10 s of the answer")
			}
			_, rows := backupAndMirror(t, h.b, h.watch) // what the held backup's mirror left
			if rows[name] != want {
				t.Errorf("backup %s, changed by another writer after the backup's lease, is %q in the backups table after the backup's mirror, want %q",
					name, rows[name], want)
			}
		})
	}
}

// failedIndexStore is the bucket as a writer whose catalog index writes
// fail sees it (the failure is only logged: readers read the metadata).
type failedIndexStore struct {
	*memstore.ObjectStore
	key string
}

func (f failedIndexStore) Put(ctx context.Context, key string, data []byte, cond coord.PutCondition) (string, error) {
	if key == f.key {
		return "", context.DeadlineExceeded
	}
	return f.ObjectStore.Put(ctx, key, data, cond)
}

// TestMirrorAfterABackupKeepsWhatItCannotSee: in the same gap, another
// sidecar's backup that is still running (its index is written at its
// end), or that completed but failed to write the index, leaves the index
// as the backup wrote it. The written catalog lacks that backup: the
// mirror must not mark its row deleted, but read S3 and show it as it is.
func TestMirrorAfterABackupKeepsWhatItCannotSee(t *testing.T) {
	for _, c := range []struct {
		name    string
		running bool
		want    model.CatalogStatus
	}{
		{"running", true, model.CatalogRunning},
		{"its index write failed", false, model.CatalogCompleted},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := startHeldBackup(t)
			b, watch := h.b, h.watch
			name := otherSidecarsBackup(t, b, h.db, h.store, c.running)
			watch.mu.Lock()
			watch.writes = make(chan []control.CatalogRow, 16) // from here on: the held backup's mirror
			watch.mu.Unlock()
			close(watch.release)
			b.expect(heldRequest, control.StateSucceeded, "")
			for deadline := time.After(10 * time.Second); ; {
				select {
				case rows := <-watch.writes:
					for _, r := range rows {
						if r.Name == name && r.Status != c.want {
							t.Fatalf("the other sidecar's backup %s is written %q by the held backup's mirror, want %q", name, r.Status, c.want)
						} else if r.Name == name {
							return
						}
					}
				case <-deadline:
					t.Fatalf("the held backup's mirror wrote no row of the other sidecar's backup %s within 10 s", name)
				}
			}
		})
	}
}

// otherSidecarsBackup runs a backup of shop as another sidecar on the same
// bucket, which writes its own row of the backups table as its runner
// does, and returns its name: left running (the fake's BACKUPs held until
// the test ends), or completed with its catalog index write failed.
func otherSidecarsBackup(t *testing.T, b *bed, db *fakedb.DB, store *memstore.ObjectStore, running bool) string {
	t.Helper()
	layout := coord.Layout{Prefix: "p"}
	var bucket coord.ObjectStore = failedIndexStore{store, layout.IndexKey("shop")}
	if running {
		bucket = store
		db.Hold()
	}
	other := otherService(bucket, db)
	rowOf := func(bk model.Backup) {
		if err := b.plane.WriteCatalog(context.Background(), []control.CatalogRow{{Database: "shop", Name: bk.Name, Kind: string(bk.Kind),
			Chain: bk.Name, Status: bk.CatalogStatus(), BackupID: bk.BackupID}}); err != nil {
			t.Error(err)
		}
	}
	req := sidecar.BackupRequest{Database: "shop", Kind: model.KindFull, WaitForLease: true, Settled: rowOf}
	if !running {
		bk, err := other.Backup(context.Background(), req)
		if err != nil {
			t.Fatalf("the other sidecar's backup: %v", err)
		}
		return bk.Name
	}
	started := make(chan string, 1)
	req.Started = func(bk model.Backup) { rowOf(bk); started <- bk.Name }
	var g errgroup.Group
	g.Go(func() error { _, err := other.Backup(context.Background(), req); return err })
	// Cleanups run last first: the held BACKUP is let go, then awaited,
	// then the bed stops.
	t.Cleanup(func() { _ = g.Wait() })
	t.Cleanup(db.Release)
	select {
	case name := <-started:
		return name
	case <-time.After(10 * time.Second):
		t.Fatal("the other sidecar's backup did not start within 10 s")
		return ""
	}
}

// heldRequest is the request of heldBackup's held backup.
const heldRequest = "00000000-0000-4000-8000-0000000000aa"

// heldBackup is a bed of shop with one backup taken and mirrored (first),
// and a second (heldRequest) that has released its lease and waits to
// write its answer until watch.release is closed: the gap before the
// mirror after its answer, held open.
type heldBackup struct {
	b     *bed
	watch *catalogWatch
	store *memstore.ObjectStore
	db    *fakedb.DB
	first string
}

func startHeldBackup(t *testing.T) heldBackup {
	t.Helper()
	h := heldBackup{store: memstore.New()}
	h.db = fakedb.New(h.store)
	h.db.Create("shop", map[string]uint64{"orders": 10})
	h.watch = &catalogWatch{store: h.store, seen: make(chan mirrorRead, 1), hold: heldRequest,
		held: make(chan struct{}), release: make(chan struct{})}
	h.b = &bed{t: t, plane: memcontrol.New("clickvault").WithProofKey(testProofKey), db: h.db, store: h.store,
		wrap: func(p control.ControlPlane) control.ControlPlane { h.watch.ControlPlane = p; return h.watch }}
	h.b.start(control.Options{Databases: []string{"shop"}})
	h.first, _ = backupAndMirror(t, h.b, h.watch)
	h.b.request("clickvault", control.Request{ID: heldRequest, Action: control.ActionBackup, Database: "shop", Kind: "full"})
	select {
	case <-h.watch.held: // the backup's lease is released; its answer waits
	case <-time.After(10 * time.Second):
		t.Fatal("the backup's answer was not written within 10 s")
	}
	return h
}

// otherService is another sidecar's engine on bucket, ClickHouse the
// same fake's.
func otherService(bucket coord.ObjectStore, db *fakedb.DB) *sidecar.Service {
	return sidecar.NewService(bucket, db.Ports(), nil, coord.Layout{Prefix: "p"}, sidecar.Options{
		FullEvery: 24 * time.Hour, PollInterval: time.Millisecond, Holder: coord.Holder{Name: "other", Stable: true}},
		slog.New(slog.DiscardHandler))
}
