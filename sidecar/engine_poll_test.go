package sidecar

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"
)

func TestPollWaitGrowsWithTheOperation(t *testing.T) {
	s := &engine{opts: Options{}.withDefaults()}
	for _, c := range []struct{ elapsed, want time.Duration }{
		{0, 5 * time.Millisecond},
		{10 * time.Millisecond, 5 * time.Millisecond},
		{40 * time.Millisecond, 10 * time.Millisecond},
		{400 * time.Millisecond, 100 * time.Millisecond},
		{2 * time.Second, 100 * time.Millisecond},
		{10 * time.Second, 200 * time.Millisecond},
		{time.Hour, time.Second},
	} {
		if got := s.pollWait(c.elapsed); got != c.want {
			t.Errorf("pollWait(%v) = %v, want %v", c.elapsed, got, c.want)
		}
	}
}

// scriptedOperation is system.backups for one operation that ends, with
// status, at endsAt; it counts the reads.
type scriptedOperation struct {
	Database // only Operation is called
	mu       sync.Mutex
	endsAt   time.Time
	status   OperationStatus
	reads    int
}

func (d *scriptedOperation) Operation(context.Context, string) (Operation, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reads++
	if time.Now().Before(d.endsAt) {
		return Operation{Status: "CREATING_BACKUP"}, nil
	}
	return Operation{Status: d.status}, nil
}

func (d *scriptedOperation) readsSoFar() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reads
}

// TestWaitReadsSystemBackupsOnceTheBackupSignsItsEnd: a read of
// system.backups costs the server more with every operation it ran, so a
// backup with an end sign (its .backup object) reads it once the sign is
// seen, not on every poll; a failure, which writes no .backup, is read
// within PollInterval. Without a sign (a restore), every poll reads.
func TestWaitReadsSystemBackupsOnceTheBackupSignsItsEnd(t *testing.T) {
	wait := func(sign func(start time.Time) endSign, status OperationStatus, poll time.Duration) (*scriptedOperation, Operation, time.Duration) {
		t.Helper()
		start := time.Now()
		db := &scriptedOperation{endsAt: start.Add(300 * time.Millisecond), status: status}
		s := &engine{db: db, opts: Options{PollInterval: poll}.withDefaults(), logger: slog.New(slog.DiscardHandler), now: time.Now}
		var es endSign
		if sign != nil {
			es = sign(start)
		}
		op, err := s.waitOperation(context.Background(), "op", "backup", "b", nil, es)
		if err != nil {
			t.Fatal(err)
		}
		return db, op, time.Since(start)
	}
	writtenAtTheEnd := func(start time.Time) endSign {
		return func(context.Context) (bool, error) { return time.Since(start) >= 300*time.Millisecond, nil }
	}
	never := func(time.Time) endSign { return func(context.Context) (bool, error) { return false, nil } }

	db, op, _ := wait(writtenAtTheEnd, OpBackupCreated, time.Second)
	if op.Status != OpBackupCreated || db.readsSoFar() > 2 {
		t.Errorf("a backup that signs its end at 300 ms: %s after %d reads of system.backups, want created after 1 (2 at most)", op.Status, db.readsSoFar())
	}
	db, op, took := wait(never, OpBackupFailed, 400*time.Millisecond)
	if op.Status != OpBackupFailed || took > 1200*time.Millisecond || db.readsSoFar() > 3 {
		t.Errorf("a failed backup, no sign: %s after %v and %d reads, want failed within two PollIntervals and a read each", op.Status, took, db.readsSoFar())
	}
	db, _, _ = wait(nil, OpRestored, time.Second)
	if db.readsSoFar() < 5 {
		t.Errorf("without a sign %d reads in 300 ms, want a read every poll (5 ms, then a quarter of the elapsed time)", db.readsSoFar())
	}
}

// TestWaitEndsSoonAfterTheSignWhenClickHouseClosesLate: ClickHouse says a
// backup ended a little after its .backup object is written (it closes
// the backup first). Once the sign is seen, the reads of system.backups
// come at the pace of the reads themselves (at least minPollWait), not a
// quarter of the elapsed time: the wait ends within tens of milliseconds
// of ClickHouse's end, not a hundred.
func TestWaitEndsSoonAfterTheSignWhenClickHouseClosesLate(t *testing.T) {
	start := time.Now()
	db := &scriptedOperation{endsAt: start.Add(time.Hour), status: OpBackupCreated}
	s := &engine{db: db, opts: Options{PollInterval: time.Second}.withDefaults(), logger: slog.New(slog.DiscardHandler), now: time.Now}
	var seen time.Time // when the sign was first seen: ClickHouse ends the backup 30 ms later
	signed := func(context.Context) (bool, error) {
		if time.Since(start) < 800*time.Millisecond {
			return false, nil
		}
		if seen.IsZero() {
			seen = time.Now()
			db.mu.Lock()
			db.endsAt = seen.Add(30 * time.Millisecond)
			db.mu.Unlock()
		}
		return true, nil
	}
	op, err := s.waitOperation(context.Background(), "op", "backup", "b", nil, signed)
	if after := time.Since(seen); err != nil || op.Status != OpBackupCreated || after >= 90*time.Millisecond {
		t.Fatalf("ended %s %v after the sign (%v), want created before 90 ms: ClickHouse ends it 30 ms after the sign, "+
			"then a read comes at least every %v, not every 100 ms", op.Status, after, err, minPollWait)
	}
}

// unreachable is system.backups while ClickHouse is down: every read fails
// at once. It counts the reads.
type unreachable struct {
	Database // only Operation is called
	mu       sync.Mutex
	reads    int
}

func (d *unreachable) Operation(context.Context, string) (Operation, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reads++
	return Operation{}, errors.New("connection refused")
}

// TestWaitPacesFailedReadsAfterTheSign: once the end sign is seen, reads
// that fail at once (ClickHouse restarting) come at the wait's usual
// pace, not back to back every few milliseconds, until contact is lost.
func TestWaitPacesFailedReadsAfterTheSign(t *testing.T) {
	db := &unreachable{}
	s := &engine{db: db, opts: Options{PollInterval: time.Second, LostContactAfter: 400 * time.Millisecond}.withDefaults(),
		logger: slog.New(slog.DiscardHandler), now: time.Now}
	signed := func(context.Context) (bool, error) { return true, nil }
	if _, err := s.waitOperation(context.Background(), "op", "backup", "b", nil, signed); err == nil {
		t.Fatal("the wait on an unreachable server ended without an error")
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.reads > 30 {
		t.Fatalf("%d reads of an unreachable system.backups in 400 ms after the sign, want the usual pace (under 30)", db.reads)
	}
}
