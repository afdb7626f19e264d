package sidecar_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

// slotRecorder is a BackupRequest.Slot that records whether it is held.
type slotRecorder struct {
	mu              sync.Mutex
	held            bool
	taken, released int
}

func (s *slotRecorder) take(context.Context) (func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held, s.taken = true, s.taken+1
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.held, s.released = false, s.released+1
	}, nil
}

func (s *slotRecorder) takenCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.taken
}

func (s *slotRecorder) releasedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.released
}

func (s *slotRecorder) isHeld() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// TestBackupHoldsItsSlotOnlyWhileClickHouseRunsIt: a round's slot is held
// from before the BACKUP is sent until ClickHouse has ended it, not while
// the metadata and index are written afterwards, and it is given back
// once, also when ClickHouse fails the BACKUP.
func TestBackupHoldsItsSlotOnlyWhileClickHouseRunsIt(t *testing.T) {
	slot := &slotRecorder{}
	var heldWhenCreated bool // ClickHouse reported it created; the metadata is not written yet
	e := newEngine(t, sidecar.Options{FaultPoint: func(name string) {
		if name == "backup-created" {
			heldWhenCreated = slot.isHeld()
		}
	}})
	var heldAtStart bool
	b, err := e.Backup(context.Background(), sidecar.BackupRequest{Database: "shop", Kind: model.KindFull, Slot: slot.take,
		Started: func(model.Backup) { heldAtStart = slot.isHeld() }})
	if err != nil || !b.Completed() {
		t.Fatalf("backup: %v (%s)", err, b.Status)
	}
	if !heldAtStart || heldWhenCreated || slot.taken != 1 || slot.released != 1 {
		t.Fatalf("held when ClickHouse started it %v (want true), once it was created %v (want false); taken %d, released %d (want 1, 1)",
			heldAtStart, heldWhenCreated, slot.taken, slot.released)
	}
	e.db.FailNextBackup("Code: 497. DB::Exception: clickvault: Not enough privileges. (ACCESS_DENIED)")
	if _, err := e.Backup(context.Background(), sidecar.BackupRequest{Database: "shop", Kind: model.KindFull, Slot: slot.take}); err == nil {
		t.Fatal("a failed backup succeeded")
	}
	if slot.isHeld() || slot.taken != 2 || slot.released != 2 {
		t.Fatalf("after a failed backup: held %v, taken %d, released %d (want false, 2, 2)", slot.isHeld(), slot.taken, slot.released)
	}
}

// TestBackupWaitingForASlotGivesUpWithItsContext: a backup whose turn
// never comes ends with its context, sends nothing to ClickHouse and
// leaves no completed backup.
func TestBackupWaitingForASlotGivesUpWithItsContext(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	never := func(ctx context.Context) (func(), error) {
		cancel()
		<-ctx.Done()
		return nil, ctx.Err()
	}
	_, err := e.Backup(ctx, sidecar.BackupRequest{Database: "shop", Kind: model.KindFull, Slot: never})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if ops, _ := e.Status(context.Background(), 10); len(ops) != 0 {
		t.Fatalf("ClickHouse was sent %d operations", len(ops))
	}
}

// TestBackupGivesItsSlotBackOnceItsBackupObjectIsWritten: ClickHouse
// writes a backup's .backup object last, so with SlotUntilWritten the slot
// (the next database's BACKUP) does not wait for the read of
// system.backups that confirms the end, which costs the server tens of
// milliseconds at a thousand operations. The backup still completes only
// once ClickHouse says so. Without it the slot is held until then
// (TestBackupHoldsItsSlotOnlyWhileClickHouseRunsIt).
func TestBackupGivesItsSlotBackOnceItsBackupObjectIsWritten(t *testing.T) {
	slot := &slotRecorder{}
	e := newEngine(t, sidecar.Options{})
	e.db.Hold() // the .backup object is written; system.backups says CREATING_BACKUP until Release
	type result struct {
		b   model.Backup
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := e.Backup(context.Background(), sidecar.BackupRequest{Database: "shop", Kind: model.KindFull,
			Slot: slot.take, SlotUntilWritten: true})
		done <- result{b, err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for slot.takenCount() == 0 || slot.isHeld() {
		select {
		case r := <-done:
			t.Fatalf("the backup ended (%v, %s) before ClickHouse said so", r.err, r.b.Status)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the slot was still held 10 s after the .backup object was written")
		}
		time.Sleep(time.Millisecond)
	}
	e.db.Release()
	r := <-done
	if r.err != nil || !r.b.Completed() || slot.releasedCount() != 1 {
		t.Fatalf("backup: %v (%s), slot released %d times (want completed, once)", r.err, r.b.Status, slot.releasedCount())
	}

	// One slot at a time (SlotUntilWritten unset): held until ClickHouse
	// says the BACKUP ended, however long the .backup object has been there.
	e.db.Hold()
	go func() {
		b, err := e.Backup(context.Background(), sidecar.BackupRequest{Database: "shop", Kind: model.KindFull, Slot: slot.take})
		done <- result{b, err}
	}()
	for slot.takenCount() < 2 {
		select {
		case r := <-done:
			t.Fatalf("the backup ended (%v, %s) before it took its slot", r.err, r.b.Status)
		case <-time.After(time.Millisecond):
		}
	}
	time.Sleep(100 * time.Millisecond) // some twenty looks at the .backup object
	if !slot.isHeld() {
		t.Fatal("one slot at a time was given back before ClickHouse ended the BACKUP")
	}
	e.db.Release()
	r = <-done
	if r.err != nil || !r.b.Completed() || slot.releasedCount() != 2 {
		t.Fatalf("backup: %v (%s), slot released %d times (want completed, twice in all)", r.err, r.b.Status, slot.releasedCount())
	}
}
