package control_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
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

// copyTargets are copy targets as places to read, in the order named,
// counting how often an engine is asked for.
type copyTargets struct {
	names []string
	svcs  []*sidecar.Service
	asked atomic.Int32
}

// targets are the copy targets names, read through svcs (one each).
func targets(names []string, svcs ...*sidecar.Service) *copyTargets {
	return &copyTargets{names: names, svcs: svcs}
}

func (c *copyTargets) Copies() []string { return c.names }

func (c *copyTargets) Copy(_ context.Context, name string) (*sidecar.Service, error) {
	c.asked.Add(1)
	for i, n := range c.names {
		if n == name {
			return c.svcs[i], nil
		}
	}
	return nil, &sidecar.UnknownCopyTargetError{Name: name, Targets: c.Copies()}
}

// fakeShop is an in-memory bucket and a fake server holding shop.orders
// (10 rows), backed up to that bucket.
func fakeShop() (*memstore.ObjectStore, *fakedb.DB) {
	store := memstore.New()
	db := fakedb.New(store)
	db.Create("shop", map[string]uint64{"orders": 10})
	return store, db
}

// engineAt is an engine on store under prefix, reading through db.
func engineAt(store coord.ObjectStore, db *fakedb.DB, prefix string) *sidecar.Service {
	return sidecar.NewService(store, db.Ports(), nil, coord.Layout{Prefix: prefix}, sidecar.Options{
		FullEvery: 24 * time.Hour, PollInterval: time.Millisecond, Holder: coord.Holder{Name: "a", Stable: true}},
		slog.New(slog.DiscardHandler))
}

// backedUp is svc after a full backup of shop.
func backedUp(t *testing.T, svc *sidecar.Service) *sidecar.Service {
	t.Helper()
	if _, err := svc.Backup(context.Background(), sidecar.BackupRequest{Database: model.DatabaseName("shop")}); err != nil {
		t.Fatal(err)
	}
	return svc
}

// bedOn is a runner's bed on store and db (newBed makes its own).
func bedOn(t *testing.T, store *memstore.ObjectStore, db *fakedb.DB, opts control.Options) *bed {
	b := &bed{t: t, plane: memcontrol.New("clickvault").WithProofKey(testProofKey), store: store, db: db}
	b.start(opts)
	return b
}

// TestSourceIsChosenOnceAtAdmission: a verify that names its source reads
// the copy target admission found the backup in, without asking again
// when it runs: the choice is made once and passed on (Job.ChosenSource).
func TestSourceIsChosenOnceAtAdmission(t *testing.T) {
	store, db := fakeShop()
	copies := targets([]string{"dr"}, backedUp(t, engineAt(store, db, "dr")))
	b := newBed(t, control.Options{CopyReaders: copies})
	id := b.request("alice", control.Request{Action: control.ActionVerify, Database: "shop", Source: "dr"})
	st := b.wait(id, control.StateSucceeded, control.StateFailed, control.StateRejected)
	if st.State != control.StateSucceeded || !strings.Contains(st.Message, "copy target dr") {
		t.Fatalf("verify from dr: %s: %s", st.State, st.Message)
	}
	if n := copies.asked.Load(); n != 1 {
		t.Errorf("the copy target was asked for %d times, want once (at admission)", n)
	}
}

// silentStore takes every read and never answers it (a copy target behind
// a hung load balancer): each read ends only when its context does.
type silentStore struct{ *memstore.ObjectStore }

func (silentStore) List(ctx context.Context, _ string, _ bool) (coord.Listing, error) {
	<-ctx.Done()
	return coord.Listing{}, ctx.Err()
}

func (silentStore) Get(ctx context.Context, _ string) ([]byte, string, error) {
	<-ctx.Done()
	return nil, "", ctx.Err()
}

func (silentStore) Exists(ctx context.Context, _ string) (bool, error) {
	<-ctx.Done()
	return false, ctx.Err()
}

// TestSilentCopyTargetHoldsNoAdmission: admission's look for the backup of
// a verify naming a copy target that never answers ends within
// Options.SourceLookWithin, and the request goes on to run (its run reads
// the target again and answers what it says). Unbounded, the look held an
// admission slot for as long as the S3 client waits (minutes), and a few
// such requests held every other request's admission.
func TestSilentCopyTargetHoldsNoAdmission(t *testing.T) {
	store, db := fakeShop()
	dr := engineAt(silentStore{store}, db, "dr")
	b := newBed(t, control.Options{CopyReaders: targets([]string{"dr"}, dr), SourceLookWithin: 100 * time.Millisecond})
	id := b.request("alice", control.Request{Action: control.ActionVerify, Database: "shop", Source: "dr"})
	b.wait(id, control.StateRunning)
}

// sameStoreTransfer copies objects within one in-memory store.
type sameStoreTransfer struct{ store *memstore.ObjectStore }

func (m sameStoreTransfer) Transfer(ctx context.Context, srcKey, dstKey string, _ int64) error {
	data, _, err := m.store.Get(ctx, srcKey)
	if err != nil {
		return err
	}
	_, err = m.store.Put(ctx, dstKey, data, coord.PutCondition{})
	return err
}

func (sameStoreTransfer) ServerSide() bool { return false }

// brokenPrimaryWithACopy is a bed whose primary (prefix p) holds a full
// backup of shop, copied to copy target dr (prefix dr, the same store),
// with one data object of the primary's deleted: broken there, sound at dr.
func brokenPrimaryWithACopy(t *testing.T) *bed {
	t.Helper()
	ctx := context.Background()
	store, db := fakeShop()
	primary := engineAt(store, db, "p")
	b, err := primary.Backup(ctx, sidecar.BackupRequest{Database: model.DatabaseName("shop")})
	if err != nil {
		t.Fatal(err)
	}
	target := sidecar.CopyTarget{Name: "dr", Store: store, Layout: coord.Layout{Prefix: "dr"}, Transfer: sameStoreTransfer{store},
		BaseRef: func(folder string) string { return store.URL(folder) }}
	if rep, err := primary.Copy(ctx, target, "shop"); err != nil || len(rep.Copied) != 1 {
		t.Fatalf("copy to dr: %+v, %v", rep, err)
	}
	if err := store.Delete(ctx, []string{b.Folder + "data/shop/orders/all_1_1_0/data.bin"}); err != nil {
		t.Fatal(err)
	}
	return bedOn(t, store, db, control.Options{CopyReaders: targets([]string{"dr"}, engineAt(store, db, "dr"))})
}

// TestRestoreReadsACopyOfABrokenPrimaryBackup: a restore naming no source,
// with a copy target configured, has the primary's backup checked when it
// runs (admission found it there and did not check it); broken there, the
// copy's is read, and the answer says so. The fake server restores only
// backups it made itself, so its RESTORE of the copy fails: what is tested
// here is where the restore read, and why (the rows read from a copy are
// TestRestoreRequestReadsACopyWhenThePrimaryIsBroken's, on the test bed).
func TestRestoreReadsACopyOfABrokenPrimaryBackup(t *testing.T) {
	b := brokenPrimaryWithACopy(t)
	id := b.request("alice", control.Request{Action: control.ActionRestore, Database: "shop", Target: "shop_copy"})
	st := b.wait(id, control.StateSucceeded, control.StateFailed, control.StateRejected)
	want := "read from copy target dr, because the primary bucket could not serve it: backup "
	if !strings.Contains(st.Message, want) || !strings.Contains(st.Message, "/data/shop/orders/all_1_1_0/data.bin is missing") {
		t.Fatalf("restore of a backup broken in the primary: %s: %s; want it read from dr, saying %q", st.State, st.Message, want)
	}
}

// TestVerifyReadsThePrimaryAsItIs: a verify naming no source reads the
// primary's backup as it is, broken or not — finding a broken backup is
// what it is for — never a copy in its place.
func TestVerifyReadsThePrimaryAsItIs(t *testing.T) {
	b := brokenPrimaryWithACopy(t)
	id := b.request("alice", control.Request{Action: control.ActionVerify, Database: "shop"})
	st := b.wait(id, control.StateSucceeded, control.StateFailed, control.StateRejected)
	if strings.Contains(st.Message, "copy target") {
		t.Fatalf("a verify of a backup broken in the primary read a copy: %s: %s", st.State, st.Message)
	}
}

// TestACopyFoundAtAdmissionIsNotChosenAgain: a restore naming no source
// whose backup only the copy target holds (the primary's retention deleted
// it) is found there at admission, and its run reads that copy without
// asking the targets again: the primary was not found wanting by a check
// it could fail again, it lacks the backup.
func TestACopyFoundAtAdmissionIsNotChosenAgain(t *testing.T) {
	store, db := fakeShop()
	copies := targets([]string{"dr"}, backedUp(t, engineAt(store, db, "dr")))
	b := bedOn(t, store, db, control.Options{CopyReaders: copies})
	id := b.request("alice", control.Request{Action: control.ActionRestore, Database: "shop", Target: "shop_copy"})
	st := b.wait(id, control.StateSucceeded, control.StateFailed, control.StateRejected)
	if st.State != control.StateSucceeded || !strings.Contains(st.Message, "copy target dr") {
		t.Fatalf("restore of a backup only dr holds: %s: %s", st.State, st.Message)
	}
	if n := copies.asked.Load(); n != 1 {
		t.Errorf("the copy target was asked for %d times, want once (at admission)", n)
	}
}

// TestASilentCopyTargetIsPassedForTheNext: a verify naming no source whose
// backup the primary lacks, with copy target a silent and b holding it:
// a's look is cut short at SourceLookWithin and b, asked with time of its
// own, serves. (With one bound for the whole look, b was asked with none
// left, and the request was never admitted.)
func TestASilentCopyTargetIsPassedForTheNext(t *testing.T) {
	store, db := fakeShop()
	b := backedUp(t, engineAt(store, db, "b"))
	a := engineAt(silentStore{store}, db, "a")
	bd := bedOn(t, store, db, control.Options{CopyReaders: targets([]string{"a", "b"}, a, b), SourceLookWithin: 200 * time.Millisecond})
	id := bd.request("alice", control.Request{Action: control.ActionVerify, Database: "shop"})
	st := bd.wait(id, control.StateSucceeded, control.StateFailed, control.StateRejected)
	if st.State != control.StateSucceeded || !strings.Contains(st.Message, "copy target b") {
		t.Fatalf("verify of a backup only b holds, a silent: %s: %s", st.State, st.Message)
	}
}
