package sidecar_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// testClock is a clock a test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// names are the names of backups.
func names(bs []model.Backup) string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Name)
	}
	return strings.Join(out, ",")
}

func lockedNames(r sidecar.CleanupReport) string {
	var out []model.Backup
	for _, l := range r.Locked {
		out = append(out, l.Backup)
	}
	return names(out)
}

// TestCleanupKeepsWhatTheObjectLockHolds: on a bucket whose Object Lock
// holds every new object for a day, a cleanup deletes no backup the lock
// still holds (which would only hide it) and says which and until when,
// in the dry run too; it deletes each at the first cleanup after the lock
// let go of its objects, newest link first, and keeps a base its held
// link needs. An object whose retention an administrator extended holds
// its backup even when the newest object is free.
func TestCleanupKeepsWhatTheObjectLockHolds(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: sidecar.T0}
	e := newEngine(t, sidecar.Options{Retention: model.Retention{KeepFullBackups: 1}})
	e.SetClock(clock.Now)
	e.store.EnableObjectLock("GOVERNANCE", 1, clock.Now)
	var made []model.Backup
	for i, kind := range []model.Kind{model.KindFull, model.KindIncremental, model.KindFull, model.KindIncremental} {
		clock.Set(sidecar.T0.Add(time.Duration(i) * time.Hour))
		made = append(made, e.backup(t, kind))
	}
	oldFull, oldInc := made[0], made[1]

	clock.Set(sidecar.T0.Add(4 * time.Hour))
	for _, dry := range []bool{true, false} {
		r, err := e.Cleanup(ctx, "shop", dry)
		if err != nil || len(r.Planned) != 0 || lockedNames(r) != oldInc.Name+","+oldFull.Name {
			t.Fatalf("dry run %v, both links held for a day: %v, planned %d, locked %s", dry, err, len(r.Planned), lockedNames(r))
		}
		notes := strings.Join(r.LockNotes(), "\n")
		until := sidecar.T0.Add(25 * time.Hour).Format(time.RFC3339)
		if !strings.Contains(notes, "backup "+oldInc.Name) || !strings.Contains(notes, "(GOVERNANCE) keeps its objects until "+until) {
			t.Fatalf("dry run %v: the notes do not say what the lock keeps until when:\n%s", dry, notes)
		}
		if want := "keeps 2 backups it would delete (the last until " + until + "): " + oldInc.Name + ", " + oldFull.Name; !strings.Contains(r.LockSummary(), want) {
			t.Fatalf("dry run %v: the summary %q does not say %q", dry, r.LockSummary(), want)
		}
	}
	if objs, _ := e.store.List(ctx, oldFull.Folder, true); len(objs.Objects) == 0 {
		t.Fatal("a held backup's objects were deleted")
	}

	// A day after the full, its link is still held: the full stays as its base.
	clock.Set(sidecar.T0.Add(24*time.Hour + 30*time.Minute))
	r, err := e.Cleanup(ctx, "shop", false)
	if err != nil || len(r.Deleted) != 0 || lockedNames(r) != oldInc.Name {
		t.Fatalf("the full free, its link held: %v, deleted %v, locked %s", err, r.Deleted, lockedNames(r))
	}

	// Both free, but an administrator extended one object of the full.
	clock.Set(sidecar.T0.Add(26 * time.Hour))
	objs, err := e.store.List(ctx, oldFull.Folder, true)
	if err != nil || len(objs.Objects) < 2 {
		t.Fatalf("list the full: %v, %v", err, objs.Objects)
	}
	extended := coord.Retention{Mode: "GOVERNANCE", Until: sidecar.T0.Add(48 * time.Hour)}
	e.store.SetRetention(objs.Objects[0].Key, extended)
	r, err = e.Cleanup(ctx, "shop", false)
	if err != nil || strings.Join(r.Deleted, ",") != oldInc.Name || lockedNames(r) != oldFull.Name ||
		!r.Locked[0].Retention.Until.Equal(extended.Until) {
		t.Fatalf("the link free, the full extended: %v, deleted %v, locked %+v", err, r.Deleted, r.Locked)
	}

	clock.Set(sidecar.T0.Add(49 * time.Hour))
	r, err = e.Cleanup(ctx, "shop", false)
	if err != nil || strings.Join(r.Deleted, ",") != oldFull.Name || len(r.Locked) != 0 {
		t.Fatalf("all free: %v, deleted %v, locked %s", err, r.Deleted, lockedNames(r))
	}
}

// TestCleanupCutShortFinishesOnALockedBucket: a cleanup cut short after
// it marked a backup DELETING rewrote its metadata, and the lock holds
// that new version for a day; the backup's data is free, so the next
// cleanup deletes it at once rather than wait a whole retention more.
func TestCleanupCutShortFinishesOnALockedBucket(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: sidecar.T0}
	e := newEngine(t, sidecar.Options{Retention: model.Retention{KeepFullBackups: 1}})
	e.SetClock(clock.Now)
	e.store.EnableObjectLock("GOVERNANCE", 1, clock.Now)
	old := e.backup(t, model.KindFull)
	clock.Set(sidecar.T0.Add(time.Hour))
	e.backup(t, model.KindFull)

	clock.Set(sidecar.T0.Add(25 * time.Hour)) // the old full's data is free
	marked := old
	marked.Status = model.StatusDeleting
	if err := e.WriteMeta(ctx, marked); err != nil { // as the cut-short cleanup did: a version held until T0+49h
		t.Fatal(err)
	}
	r, err := e.Cleanup(ctx, "shop", false)
	if err != nil || strings.Join(r.Deleted, ",") != old.Name || len(r.Locked) != 0 {
		t.Fatalf("the cleanup after one cut short: %v, deleted %v, locked %s", err, r.Deleted, lockedNames(r))
	}
}

// TestLongerHoldIsTheLaterDate: of two holds without a legal hold, the one
// that lasts longer wins whichever comes first; a legal hold outlasts any
// date.
func TestLongerHoldIsTheLaterDate(t *testing.T) {
	early := coord.Retention{Mode: "GOVERNANCE", Until: sidecar.T0.Add(time.Hour)}
	late := coord.Retention{Mode: "GOVERNANCE", Until: sidecar.T0.Add(2 * time.Hour)}
	legal := coord.Retention{LegalHold: true}
	for _, c := range []struct{ a, b, want coord.Retention }{
		{early, late, late}, {late, early, late}, {early, legal, legal}, {legal, late, legal},
	} {
		if got := sidecar.LongerHold(c.a, c.b); got != c.want {
			t.Errorf("longerHold(%+v, %+v) = %+v, want %+v", c.a, c.b, got, c.want)
		}
	}
}
