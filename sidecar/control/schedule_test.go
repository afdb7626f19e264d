package control_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/fakedb"
	"github.com/clickvault/clickvault/sidecar/internal/memcontrol"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// TestScheduleUnderASecond: an incremental_every under a second schedules
// backups (the slot once divided by zero and ended the sidecar).
func TestScheduleUnderASecond(t *testing.T) {
	b := newBed(t, control.Options{Databases: []string{"shop"}, IncrementalEvery: 500 * time.Millisecond})
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows, _ := b.plane.CatalogRows(context.Background(), "shop")
		if len(rows) >= 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no scheduled backup within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestScheduleReadsWaitingRequestsOncePerPass: a pass of the schedule over
// many databases reads the requests waiting once, not once per database.
func TestScheduleReadsWaitingRequestsOncePerPass(t *testing.T) {
	var dbs []string
	store := memstore.New()
	db := fakedb.New(store)
	for i := range 20 {
		name := fmt.Sprintf("tenant_%02d", i)
		db.Create(name, map[string]uint64{"events": 10})
		dbs = append(dbs, name)
	}
	b := &bed{t: t, plane: memcontrol.New("clickvault").WithProofKey(testProofKey), db: db, store: store}
	b.start(control.Options{Databases: dbs, IncrementalEvery: time.Hour})
	deadline := time.Now().Add(10 * time.Second)
	for requested := 0; requested < len(dbs); {
		requested = 0
		for _, r := range b.plane.Requests() {
			if r.RequestedBy == "clickvault" && r.Action == control.ActionBackup {
				requested++
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the schedule requested %d backups of %d databases within 10 s", requested, len(dbs))
		}
		time.Sleep(5 * time.Millisecond)
	}
	// One pass made them all; a second may have begun since.
	if n := b.plane.FullReads(); n > 2 {
		t.Fatalf("the schedule read the waiting requests %d times for one pass over %d databases, want once", n, len(dbs))
	}
}

// TestScheduleReadsACatalogOnlyWhenABackupCanBeDue: once a database's
// scheduled backup is taken, the schedule's passes read nothing of it
// until incremental_every after that backup (a pass read every catalog
// every 30 s: two thousand S3 LISTs for a thousand databases), and none
// while its request waits.
func TestScheduleReadsACatalogOnlyWhenABackupCanBeDue(t *testing.T) {
	b := unstartedBed(t)
	var passes passCounter
	// incremental_every 20 s: a pass every 2 s (a tenth of it, at least 1 s).
	b.start(control.Options{Databases: []string{"shop"}, IncrementalEvery: 20 * time.Second, FaultPoint: passes.point})
	waitFor(t, "scheduled backup succeeding", func() bool { return ended(b.plane, "clickvault", control.ActionBackup, control.StateSucceeded) > 0 })
	b.store.ResetLists()
	passes.waitMore(t, 4, "one every 2 s")
	// shop's catalog, not the seed layout's roots (p/full/, listed once a
	// minute for every database): the backup showed the schedule the
	// catalog it wrote before its answer, so no pass after the answer
	// reads it (without the memory of when shop is due, every pass did).
	// The mirror after the answer, which reads nothing either, is
	// TestMirrorAfterABackupReadsNoCatalog's.
	if n := catalogLists(b.store, "shop"); n > 0 {
		t.Errorf("shop's catalog was listed %d times in 4 passes after its backup was answered, want none", n)
	}
}

// passCounter counts the schedule's passes, as its fault point (point).
type passCounter struct{ n atomic.Int64 }

func (c *passCounter) point(point string) {
	if point == control.PointSchedulePass {
		c.n.Add(1)
	}
}

// waitMore waits up to 30 s for n passes more, at pace (said if they do
// not come).
func (c *passCounter) waitMore(t *testing.T, n int64, pace string) {
	t.Helper()
	for seen, deadline := c.n.Load(), time.Now().Add(30*time.Second); c.n.Load() < seen+n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the schedule made %d passes in 30 s, want %d (%s)", c.n.Load()-seen, n, pace)
		}
	}
}

// catalogLists is how often database's catalog (its full and
// incremental roots, not the seed layout's) was listed since the last
// look, which it starts over.
func catalogLists(store *memstore.ObjectStore, database string) int {
	lists, layout := store.ResetLists(), coord.Layout{Prefix: "p"}
	return lists[layout.KindRoot(database, "full")] + lists[layout.KindRoot(database, "incremental")]
}

// hourSlot is an incremental_every of an hour whose current slot lasts
// the test (it waits past a slot about to end): one slot for the whole
// test.
func hourSlot() time.Duration {
	if left := time.Hour - time.Since(time.Now().Truncate(time.Hour)); left < 30*time.Second {
		time.Sleep(left + time.Second)
	}
	return time.Hour
}

// ended counts the requests of action by login ("" = anyone) that ended in
// state (an id inserted twice is one request).
func ended(p *memcontrol.ControlPlane, login string, action control.Action, state control.State) int {
	ids := map[string]bool{}
	for _, r := range p.Requests() {
		if (login != "" && r.RequestedBy != login) || r.Action != action {
			continue
		}
		if st, err := p.Status(context.Background(), r.ID); err == nil && st.State == state {
			ids[r.ID] = true
		}
	}
	return len(ids)
}

// TestScheduleReadsNothingOfAFailingDatabaseTillTheNextSlot (issue 27):
// once the slot's backup request of a database has failed, no request
// can be made before the next slot (its key is taken, as a restarted
// sidecar finds at its first look), and nothing can be
// checked before a backup completes, so the passes till then read
// nothing of the database: each read its catalog and tried the slot again
// (three S3 requests a failing database a pass, without end).
func TestScheduleReadsNothingOfAFailingDatabaseTillTheNextSlot(t *testing.T) {
	every := hourSlot()
	b := unstartedBed(t)
	b.db.FailNextBackup("the disk is full")
	var passes passCounter
	// check_every 10 s: a pass every second.
	b.start(control.Options{Databases: []string{"shop"}, IncrementalEvery: every, CheckEvery: 10 * time.Second, FaultPoint: passes.point})
	waitFor(t, "scheduled backup failing", func() bool { return ended(b.plane, "", control.ActionBackup, control.StateFailed) > 0 })
	b.store.ResetLists()
	passes.waitMore(t, 3, "one a second")
	if n := catalogLists(b.store, "shop"); n > 0 {
		t.Errorf("shop's catalog was listed %d times in 3 passes after its slot's backup failed, want none till the next slot", n)
	}
	// A restarted sidecar (or another one) finds the slot taken at its
	// first look, and then reads nothing either.
	b.stop()
	b.start(control.Options{Databases: []string{"shop"}, IncrementalEvery: every, CheckEvery: 10 * time.Second, FaultPoint: passes.point})
	passes.waitMore(t, 1, "one a second")
	b.store.ResetLists()
	passes.waitMore(t, 3, "one a second")
	if n := catalogLists(b.store, "shop"); n > 0 {
		t.Errorf("shop's catalog was listed %d times in 3 passes after a restart found its slot taken, want none till the next slot", n)
	}
}

// waitFor waits up to 20 s for done, failing the test with what it waited for.
func waitFor(t *testing.T, what string, done func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !done(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 20 s", what)
		}
	}
}

// failFirstInsert refuses the first request inserted through it.
type failFirstInsert struct {
	control.ControlPlane
	failed atomic.Bool
}

func (f *failFirstInsert) InsertRequest(ctx context.Context, r control.Request) (string, error) {
	if f.failed.CompareAndSwap(false, true) {
		return "", errors.New("connection reset by peer")
	}
	return f.ControlPlane.InsertRequest(ctx, r)
}

// TestAScheduledRequestNotMadeIsMadeOnTheNextPass: the schedule's INSERT
// failed once after it took the slot; the next pass makes the request
// (the slot's, owed: left at that, the slot had no request till the next,
// an hour here).
func TestAScheduledRequestNotMadeIsMadeOnTheNextPass(t *testing.T) {
	every := hourSlot()
	b := unstartedBed(t)
	failing := &failFirstInsert{}
	b.wrap = func(cp control.ControlPlane) control.ControlPlane { failing.ControlPlane = cp; return failing }
	// check_every 10 s: a pass every second.
	b.start(control.Options{Databases: []string{"shop"}, IncrementalEvery: every, CheckEvery: 10 * time.Second})
	waitFor(t, "scheduled backup after the first INSERT failed", func() bool {
		return failing.failed.Load() && ended(b.plane, "clickvault", control.ActionBackup, control.StateSucceeded) > 0
	})
}

// landsThenFails stores the first request inserted through it, then
// answers an error, as a connection lost after the server stored it.
type landsThenFails struct {
	control.ControlPlane
	failed atomic.Bool
}

func (f *landsThenFails) InsertRequest(ctx context.Context, r control.Request) (string, error) {
	id, err := f.ControlPlane.InsertRequest(ctx, r)
	if err == nil && f.failed.CompareAndSwap(false, true) {
		return "", errors.New("connection reset by peer")
	}
	return id, err
}

// TestAScheduledRequestThatLandedIsNotMadeTwice: the schedule's INSERT
// answered an error after the server stored the row; the request made
// again is the same (its id), and runs once (given back, the slot got a
// second request).
func TestAScheduledRequestThatLandedIsNotMadeTwice(t *testing.T) {
	every := hourSlot()
	b := unstartedBed(t)
	b.db.FailNextBackup("the disk is full") // so the backup made is not recent, and a second request would be due
	landing := &landsThenFails{}
	b.wrap = func(cp control.ControlPlane) control.ControlPlane { landing.ControlPlane = cp; return landing }
	var passes passCounter
	b.start(control.Options{Databases: []string{"shop"}, IncrementalEvery: every, CheckEvery: 10 * time.Second, FaultPoint: passes.point})
	waitFor(t, "scheduled backup failing", func() bool { return ended(b.plane, "", control.ActionBackup, control.StateFailed) > 0 })
	passes.waitMore(t, 3, "one a second")
	ids := map[string]bool{}
	for _, r := range b.plane.Requests() {
		ids[r.ID] = true
	}
	if run := ended(b.plane, "", control.ActionBackup, control.StateFailed); len(ids) != 1 || run != 1 {
		t.Fatalf("%d requests in one slot after an INSERT that landed answered an error (%d run), want 1", len(ids), run)
	}
}
