package sidecar_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// A run killed as it sent its BACKUP or RESTORE may leave an operation a
// busy server registers a moment later; a restart on the same machine
// comes sooner than that now (coord's runGoneHere). Its adoption asks
// ClickHouse twice, UnsentGrace apart, before it takes the operation for
// never sent.

// firstLook is a server that says when it first answers that it does not
// know an operation: the moment the late operation is to land.
type firstLook struct {
	sidecar.Database
	once   sync.Once
	looked chan struct{}
}

func (f *firstLook) Operation(ctx context.Context, id string) (sidecar.Operation, error) {
	op, err := f.Database.Operation(ctx, id)
	if errors.Is(err, sidecar.ErrNotFound) {
		f.once.Do(func() { close(f.looked) })
	}
	return op, err
}

// engineWithFirstLook is newEngine (with a grace of half a second) whose
// server says when it first does not know an operation.
func engineWithFirstLook(t *testing.T) (*engine, <-chan struct{}) {
	t.Helper()
	looked := make(chan struct{})
	e := newEngineWith(t, sidecar.Options{UnsentGrace: 500 * time.Millisecond}, engineShape{
		ports: func(p sidecar.ClickHouse) sidecar.ClickHouse {
			p.Database = &firstLook{Database: p.Database, looked: looked}
			return p
		}})
	return e, looked
}

// TestABackupThatReachesClickHouseLateIsAdopted: a run killed as it sent
// its BACKUP leaves metadata alone in the folder, and ClickHouse does not
// know the operation yet. Asked again UnsentGrace later, it does (the
// BACKUP reached the busy server a moment after its sender died): the
// backup is adopted and completed, not removed as never sent while
// ClickHouse writes it.
func TestABackupThatReachesClickHouseLateIsAdopted(t *testing.T) {
	e, looked := engineWithFirstLook(t)
	e.db.Hold()
	ctx, kill := context.WithCancel(context.Background())
	var left model.Backup
	if _, err := e.Backup(ctx, sidecar.BackupRequest{Database: "shop", Started: func(b model.Backup) { left = b; kill() }}); err == nil {
		t.Fatal("a killed run ended without an error")
	}
	e.db.Release()
	e.db.Forget() // as if the BACKUP had not reached ClickHouse: it knows nothing of it,
	listing, err := e.store.List(context.Background(), left.Folder, true)
	if err != nil {
		t.Fatal(err)
	}
	var data []string // and nothing of it is written
	for _, o := range listing.Objects {
		if o.Key != coord.MetaKey(left.Folder) {
			data = append(data, o.Key)
		}
	}
	if err := e.store.Delete(context.Background(), data); err != nil {
		t.Fatal(err)
	}
	adopted := make(chan error, 1)
	go func() {
		_, err := e.Adopt(context.Background(), "shop", left.Name, sidecar.Requester{}, nil, sidecar.NewTurns(1))
		adopted <- err
	}()
	<-looked // the BACKUP lands after ClickHouse first said it knew nothing of it
	if err := e.db.Ports().Database.StartBackup(context.Background(),
		sidecar.BackupCommand{ID: left.BackupID, Database: "shop", Folder: left.Folder}); err != nil {
		t.Fatal(err)
	}
	if err := <-adopted; err != nil {
		t.Fatalf("adopting a backup whose BACKUP reached ClickHouse late: %v, want it completed", err)
	}
}

// TestARestoreThatReachesClickHouseLateIsAdopted: a run killed as it sent
// a restore into a new database leaves a work record, and ClickHouse does
// not know the operation yet. Asked again UnsentGrace later, it does (the
// RESTORE reached the busy server a moment after its sender died): the
// restore is adopted and done, not undone while ClickHouse restores.
func TestARestoreThatReachesClickHouseLateIsAdopted(t *testing.T) {
	e, looked := engineWithFirstLook(t)
	b := e.backup(t, "")
	e.db.Hold()
	ctx, kill := context.WithCancel(context.Background())
	var id string
	if _, err := e.Restore(ctx, sidecar.RestoreRequest{Database: "shop", Target: "analysis",
		Started: func(_ model.Backup, op string) { id = op; kill() }}); err == nil || id == "" {
		t.Fatalf("a killed restore: %v, operation %q", err, id)
	}
	e.db.Release()
	e.db.Forget() // as if the RESTORE had not reached ClickHouse yet
	if err := e.db.DropDatabase(context.Background(), "analysis"); err != nil {
		t.Fatal(err)
	}
	adopted := make(chan error, 1)
	go func() {
		_, err := e.AdoptRestore(context.Background(), id, "", "analysis", nil)
		adopted <- err
	}()
	<-looked // the RESTORE lands after ClickHouse first said it knew nothing of it
	if err := e.db.Ports().Database.StartRestore(context.Background(), sidecar.RestoreCommand{ID: id, Database: "shop",
		Target: "analysis", Folder: b.Folder, NewDatabase: true}); err != nil {
		t.Fatal(err)
	}
	if err := <-adopted; err != nil {
		t.Fatalf("adopting a restore whose RESTORE reached ClickHouse late: %v, want it done", err)
	}
	if got := e.db.Tables("analysis"); got["orders"] != 10 {
		t.Fatalf("analysis after the adoption: %v, want the backup's tables", got)
	}
}
