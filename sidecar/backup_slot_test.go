package sidecar_test

import (
	"context"
	"errors"
	"sync"
	"testing"

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
