package sidecar_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/fakedb"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
	"github.com/clickvault/clickvault/sidecar/model"
)

// TestBackupHoldsItsTurnOnlyWhileClickHouseRunsIt: a round's turn is held
// from before the BACKUP is sent until ClickHouse has ended it, not while
// the metadata and index are written afterwards, and it is given back
// once, also when ClickHouse fails the BACKUP.
func TestBackupHoldsItsTurnOnlyWhileClickHouseRunsIt(t *testing.T) {
	turns := sidecar.NewTurns(1)
	var heldWhenCreated int // ClickHouse reported it created; the metadata is not written yet
	e := newEngine(t, sidecar.Options{FaultPoint: func(name string) {
		if name == "backup-created" {
			heldWhenCreated = turns.Held()
		}
	}})
	var heldAtStart int
	b, err := e.Backup(context.Background(), sidecar.BackupRequest{Database: "shop", Kind: model.KindFull, Turns: turns,
		Started: func(model.Backup) { heldAtStart = turns.Held() }})
	if err != nil || !b.Completed() {
		t.Fatalf("backup: %v (%s)", err, b.Status)
	}
	if heldAtStart != 1 || heldWhenCreated != 0 || turns.Held() != 0 {
		t.Fatalf("turns held when ClickHouse started it %d (want 1), once it was created %d, after %d (want 0, 0)",
			heldAtStart, heldWhenCreated, turns.Held())
	}
	e.db.FailNextBackup("Code: 497. DB::Exception: clickvault: Not enough privileges. (ACCESS_DENIED)")
	if _, err := e.Backup(context.Background(), sidecar.BackupRequest{Database: "shop", Kind: model.KindFull, Turns: turns}); err == nil {
		t.Fatal("a failed backup succeeded")
	}
	if turns.Held() != 0 {
		t.Fatalf("after a failed backup %d turns are held, want 0", turns.Held())
	}
}

// TestBackupWaitingForATurnGivesUpWithItsContext: a backup whose turn
// never comes ends with its context, sends nothing to ClickHouse and
// leaves no completed backup.
func TestBackupWaitingForATurnGivesUpWithItsContext(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	turns := sidecar.NewTurns(1)
	defer sidecar.TakeTurn(turns)() // another backup holds the only turn
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := e.Backup(ctx, sidecar.BackupRequest{Database: "shop", Kind: model.KindFull, Turns: turns})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if ops, _ := e.Status(context.Background(), 10); len(ops) != 0 {
		t.Fatalf("ClickHouse was sent %d operations", len(ops))
	}
}

// TestBackupGivesItsTurnBackOnceItsBackupObjectIsWritten: ClickHouse
// writes a backup's .backup object last, then closes the backup and says
// it ended. The turn is given back when a poll sees the object, so the
// next BACKUP does not wait for the read of system.backups that confirms
// the end (tens of milliseconds at a thousand operations); not before
// (ClickHouse still writes the backup). The backup completes only once
// ClickHouse says it ended.
func TestBackupGivesItsTurnBackOnceItsBackupObjectIsWritten(t *testing.T) {
	for _, n := range []int{1, 2} {
		turns := sidecar.NewTurns(n)
		store := &hiddenBackupObjects{ObjectStore: memstore.New(), looked: make(chan struct{}, 1)}
		db := fakedb.New(store.ObjectStore)
		db.Create("shop", map[string]uint64{"orders": 10})
		db.Hold() // the .backup object is written at once; system.backups says CREATING_BACKUP until Release
		read := make(chan struct{}, 1)
		// PollInterval is long: every poll looks at the .backup object
		// until it is seen, then reads system.backups (Progress).
		svc := sidecar.NewService(store, db.Ports(), &events{}, testLayout, sidecar.Options{PollInterval: time.Hour,
			FullEvery: 24 * time.Hour, Holder: coord.Holder{Name: "test"}, ControlDatabase: "clickvault", ObjectLock: store},
			slog.New(slog.DiscardHandler))
		done := make(chan error, 1)
		go func() {
			b, err := svc.Backup(context.Background(), sidecar.BackupRequest{Database: "shop", Kind: model.KindFull, Turns: turns,
				Progress: func(sidecar.Progress) { signal(read) }})
			if err == nil && !b.Completed() {
				err = errors.New("backup not completed: " + string(b.Status))
			}
			done <- err
		}()
		waitFor(t, store.looked, done, "a look at the .backup object")
		waitFor(t, store.looked, done, "a second look at the .backup object")
		if turns.Held() != 1 {
			t.Fatalf("%d turns: the turn was given back while ClickHouse still wrote the backup", n)
		}
		store.show()
		waitFor(t, read, done, "a read of system.backups after the .backup object was seen")
		if held := turns.Held(); held != 0 {
			t.Fatalf("%d turns: %d held once the .backup object was seen, before ClickHouse said the BACKUP ended; want 0",
				n, held)
		}
		db.Release()
		if err := <-done; err != nil || turns.Held() != 0 {
			t.Fatalf("%d turns: backup: %v; %d turns held after it (want 0)", n, err, turns.Held())
		}
	}
}

// hiddenBackupObjects hides .backup objects from Exists until show, as if
// ClickHouse were still writing the backup; looked gets a signal at each
// look at one.
type hiddenBackupObjects struct {
	*memstore.ObjectStore
	mu     sync.Mutex
	shown  bool
	looked chan struct{}
}

func (h *hiddenBackupObjects) Exists(ctx context.Context, key string) (bool, error) {
	if !strings.HasSuffix(key, "/"+coord.BackupFile) {
		return h.ObjectStore.Exists(ctx, key)
	}
	h.mu.Lock()
	shown := h.shown
	h.mu.Unlock()
	signal(h.looked)
	if !shown {
		return false, nil
	}
	return h.ObjectStore.Exists(ctx, key)
}

func (h *hiddenBackupObjects) show() {
	h.mu.Lock()
	h.shown = true
	h.mu.Unlock()
}

// signal sends on c without waiting: c holds one signal not yet taken.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// waitFor waits for a signal on c, failing the test if done says the
// backup ended first, or after 10 s.
func waitFor(t *testing.T, c chan struct{}, done chan error, what string) {
	t.Helper()
	select {
	case <-c:
	case err := <-done:
		t.Fatalf("the backup ended (%v) before %s", err, what)
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10 s", what)
	}
}
