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
	dbs := []string{"shop"} // the one the sidecar's login may back up here
	store := memstore.New()
	db := fakedb.New(store)
	db.Create("shop", map[string]uint64{"orders": 10})
	b := &bed{t: t, plane: memcontrol.New("clickvault").WithProofKey(testProofKey), db: db, store: store}
	var passes atomic.Int64
	countPasses := func(point string) {
		if point == control.PointSchedulePass {
			passes.Add(1)
		}
	}
	// incremental_every 20 s: a pass every 2 s (a tenth of it, at least 1 s).
	b.start(control.Options{Databases: dbs, IncrementalEvery: 20 * time.Second, FaultPoint: countPasses})
	deadline := time.Now().Add(20 * time.Second)
	for succeeded(b.plane, "clickvault", control.ActionBackup) < len(dbs) {
		if time.Now().After(deadline) {
			t.Fatal("the scheduled backups did not all succeed within 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	store.ResetLists()
	for seen, deadline := passes.Load(), time.Now().Add(30*time.Second); passes.Load() < seen+4; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the schedule made %d passes in 30 s, want 4 (one every 2 s)", passes.Load()-seen)
		}
	}
	// shop's catalog, not the seed layout's roots (p/full/, listed once a
	// minute for every database): the backup showed the schedule the
	// catalog it wrote before its answer, so no pass after the answer
	// reads it (without the memory of when shop is due, every pass did).
	// The mirror after the answer, which reads nothing either, is
	// TestMirrorAfterABackupReadsNoCatalog's.
	lists := store.ResetLists()
	layout := coord.Layout{Prefix: "p"}
	if n := lists[layout.KindRoot("shop", "full")] + lists[layout.KindRoot("shop", "incremental")]; n > 0 {
		t.Errorf("shop's catalog was listed %d times in 4 passes after its backup was answered, want none", n)
	}
}

// succeeded counts the requests of action by login that succeeded.
func succeeded(p *memcontrol.ControlPlane, login string, action control.Action) int {
	n := 0
	for _, r := range p.Requests() {
		if r.RequestedBy != login || r.Action != action {
			continue
		}
		if st, err := p.Status(context.Background(), r.ID); err == nil && st.State == control.StateSucceeded {
			n++
		}
	}
	return n
}

// TestScheduleReadsNothingOfAFailingDatabaseTillTheNextSlot (issue 27):
// once the slot's backup request of a database has failed, no request
// can be made before the next slot (its key is taken), and nothing can be
// checked before a backup completes, so the passes till then read
// nothing of the database: each read its catalog and tried the slot again
// (three S3 requests a failing database a pass, without end).
func TestScheduleReadsNothingOfAFailingDatabaseTillTheNextSlot(t *testing.T) {
	const every = time.Hour // one slot for the whole test
	if left := every - time.Since(time.Now().Truncate(every)); left < 30*time.Second {
		time.Sleep(left + time.Second) // the slot would end within the test
	}
	store := memstore.New()
	db := fakedb.New(store)
	db.Create("shop", map[string]uint64{"orders": 10})
	db.FailNextBackup("the disk is full")
	b := &bed{t: t, plane: memcontrol.New("clickvault").WithProofKey(testProofKey), db: db, store: store}
	var passes atomic.Int64
	// check_every 10 s: a pass every second.
	b.start(control.Options{Databases: []string{"shop"}, IncrementalEvery: every, CheckEvery: 10 * time.Second,
		FaultPoint: func(point string) {
			if point == control.PointSchedulePass {
				passes.Add(1)
			}
		}})
	waitFor(t, "scheduled backup failing", func() bool { return answeredAs(b.plane, control.ActionBackup, control.StateFailed) > 0 })
	store.ResetLists()
	for seen, deadline := passes.Load(), time.Now().Add(30*time.Second); passes.Load() < seen+3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the schedule made %d passes in 30 s, want 3 (one a second)", passes.Load()-seen)
		}
	}
	lists := store.ResetLists()
	layout := coord.Layout{Prefix: "p"}
	if n := lists[layout.KindRoot("shop", "full")] + lists[layout.KindRoot("shop", "incremental")]; n > 0 {
		t.Errorf("shop's catalog was listed %d times in 3 passes after its slot's backup failed, want none till the next slot", n)
	}
}

// answeredAs counts the requests of action that ended in state (an id
// inserted twice is one request).
func answeredAs(p *memcontrol.ControlPlane, action control.Action, state control.State) int {
	ended := map[string]bool{}
	for _, r := range p.Requests() {
		if st, err := p.Status(context.Background(), r.ID); err == nil && r.Action == action && st.State == state {
			ended[r.ID] = true
		}
	}
	return len(ended)
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
	const every = time.Hour // one slot for the whole test
	if left := every - time.Since(time.Now().Truncate(every)); left < 30*time.Second {
		time.Sleep(left + time.Second)
	}
	store := memstore.New()
	db := fakedb.New(store)
	db.Create("shop", map[string]uint64{"orders": 10})
	failing := &failFirstInsert{}
	b := &bed{t: t, plane: memcontrol.New("clickvault").WithProofKey(testProofKey), db: db, store: store,
		wrap: func(cp control.ControlPlane) control.ControlPlane { failing.ControlPlane = cp; return failing }}
	// check_every 10 s: a pass every second.
	b.start(control.Options{Databases: []string{"shop"}, IncrementalEvery: every, CheckEvery: 10 * time.Second})
	waitFor(t, "scheduled backup after the first INSERT failed", func() bool {
		return failing.failed.Load() && succeeded(b.plane, "clickvault", control.ActionBackup) > 0
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
	const every = time.Hour // one slot for the whole test
	if left := every - time.Since(time.Now().Truncate(every)); left < 30*time.Second {
		time.Sleep(left + time.Second)
	}
	store := memstore.New()
	db := fakedb.New(store)
	db.Create("shop", map[string]uint64{"orders": 10})
	db.FailNextBackup("the disk is full") // so the backup made is not recent, and a second request would be due
	landing := &landsThenFails{}
	b := &bed{t: t, plane: memcontrol.New("clickvault").WithProofKey(testProofKey), db: db, store: store,
		wrap: func(cp control.ControlPlane) control.ControlPlane { landing.ControlPlane = cp; return landing }}
	var passes atomic.Int64
	b.start(control.Options{Databases: []string{"shop"}, IncrementalEvery: every, CheckEvery: 10 * time.Second,
		FaultPoint: func(point string) {
			if point == control.PointSchedulePass {
				passes.Add(1)
			}
		}})
	waitFor(t, "scheduled backup failing", func() bool { return answeredAs(b.plane, control.ActionBackup, control.StateFailed) > 0 })
	for seen, deadline := passes.Load(), time.Now().Add(30*time.Second); passes.Load() < seen+3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the schedule made %d passes in 30 s, want 3 (one a second)", passes.Load()-seen)
		}
	}
	ids := map[string]bool{}
	for _, r := range b.plane.Requests() {
		ids[r.ID] = true
	}
	if len(ids) != 1 || answeredAs(b.plane, control.ActionBackup, control.StateFailed) != 1 {
		t.Fatalf("%d requests in one slot after an INSERT that landed answered an error (%d run), want 1",
			len(ids), answeredAs(b.plane, control.ActionBackup, control.StateFailed))
	}
}
