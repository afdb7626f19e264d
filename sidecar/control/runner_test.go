package control_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/fakedb"
	"github.com/clickvault/clickvault/sidecar/internal/memcontrol"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// grants is an Authorizer from a list of "user PRIVILEGE database".
type grants []string

func (g grants) Grants(_ context.Context, user string) (control.Grants, error) {
	return control.GrantsFunc(func(p control.Privilege, database, table string) bool {
		if table != "" && slices.Contains(g, user+" "+string(p)+" "+database+"."+table) {
			return true
		}
		return slices.Contains(g, user+" "+string(p)+" "+database)
	}), nil
}

// RowPolicies: entries "user POLICY database.table" restrict user there.
func (g grants) RowPolicies(_ context.Context, user, database string, tables []string) ([]string, error) {
	var out []string
	for _, e := range g {
		f := strings.Fields(e)
		if len(f) == 3 && f[0] == user && f[1] == "POLICY" && strings.HasPrefix(f[2], database+".") &&
			(len(tables) == 0 || slices.Contains(tables, strings.TrimPrefix(f[2], database+"."))) {
			out = append(out, "policy on "+f[2])
		}
	}
	return out, nil
}

// alice may back up shop, restore it into shop_copy, and restore its
// orders table in place; bob may back up shop.
var aliceGrants = grants{"alice BACKUP shop", "alice SELECT shop", "alice CREATE TABLE shop_copy",
	"alice INSERT shop_copy", "alice CREATE DATABASE shop_copy", "bob BACKUP shop", "clickvault BACKUP shop", "clickvault BACKUP ops",
	"alice CREATE TABLE shop.orders", "alice INSERT shop.orders",
	// bob may also restore into shop and system (one is not empty, the
	// other never a target): with the rights, he is told the facts.
	"bob BACKUP nothing", "bob SELECT shop", "bob CREATE TABLE shop", "bob INSERT shop", "bob CREATE TABLE system", "bob INSERT system",
	// carol may restore shop into shop_carol, but a row policy restricts
	// what she reads of shop.orders.
	"carol SELECT shop", "carol CREATE TABLE shop_carol", "carol INSERT shop_carol", "carol CREATE DATABASE shop_carol",
	"carol POLICY shop.orders",
	// erin may drop shop's tables on this node (a cleanup's right here).
	"erin BACKUP shop", "erin DROP TABLE shop"}

// bed is a runner on the in-memory store, server and control plane.
type bed struct {
	t     *testing.T
	plane *memcontrol.ControlPlane
	db    *fakedb.DB
	store *memstore.ObjectStore
	stop  func()
	// wrap, when set, is the control plane the runner is given around
	// plane (a test that slows one of its calls).
	wrap func(control.ControlPlane) control.ControlPlane
	// rights, when set, are the requesters' grants instead of aliceGrants.
	rights control.Authorizer
	// claims are the runners' claims, in the order they were started.
	claims []*coord.Claims
	// notifier, when set, is sent the engine's notifications.
	notifier sidecar.Notifier
	// wrapStore, when set, is the store the runners are given around
	// store (a test that fails one of its calls).
	wrapStore func(*memstore.ObjectStore) coord.ObjectStore
}

// testProofKey is the sidecar's signing key in these tests.
var testProofKey = control.ProofKey("clickvault-test-password")

func newBed(t *testing.T, opts control.Options) *bed {
	b := unstartedBed(t)
	b.start(opts)
	return b
}

// unstartedBed is newBed's bed before its runner starts: a test sets its
// wrap, notifier or server's failures first.
func unstartedBed(t *testing.T) *bed {
	b := &bed{t: t, plane: memcontrol.New("clickvault").WithProofKey(testProofKey)}
	b.store = memstore.New()
	b.db = fakedb.New(b.store)
	b.db.Create("shop", map[string]uint64{"orders": 10})
	return b
}

// start runs a runner until the test ends or stop is called.
func (b *bed) start(opts control.Options) { b.stop = b.startRun(opts, coord.ProcessRun) }

// startRun runs a runner of this process's name as run (another run is
// a twin: a second sidecar given the same name) until the test ends or
// the returned stop is called.
func (b *bed) startRun(opts control.Options, run string) (stop func()) {
	logger := slog.New(slog.DiscardHandler)
	layout := coord.Layout{Prefix: "p"}
	var store coord.ObjectStore = b.store
	if b.wrapStore != nil {
		store = b.wrapStore(b.store)
	}
	svc := sidecar.NewService(store, b.db.Ports(), nil, layout, sidecar.Options{
		FullEvery: 24 * time.Hour, PollInterval: time.Millisecond, ControlDatabase: "clickvault",
		Holder: coord.Holder{Name: "a", Stable: true}}, logger)
	if b.notifier != nil {
		svc.SetNotifier(b.notifier)
	}
	opts.Instance, opts.OwnUser, opts.DefaultDatabase = "a", "clickvault", "shop"
	opts.ProofKey = testProofKey
	opts.Poll = 20 * time.Millisecond
	var plane control.ControlPlane = b.plane
	if b.wrap != nil {
		plane = b.wrap(plane)
	}
	var rights control.Authorizer = aliceGrants
	if b.rights != nil {
		rights = b.rights
	}
	claims := coord.NewClaims(store, layout, opts.Instance, logger)
	claims.SetRun(run)
	b.claims = append(b.claims, claims)
	runner := control.NewRunner(svc, claims, plane, rights, opts, nil, logger)
	ctx, cancel := context.WithCancel(context.Background())
	var g errgroup.Group
	g.Go(func() error { return runner.Run(ctx) })
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := g.Wait(); err != nil {
				b.t.Errorf("runner: %v", err)
			}
		})
	}
	b.t.Cleanup(stop)
	return stop
}

// request inserts r as by; as the sidecar's own login it is the sidecar's
// row (signed, like the schedule's and HTTP's).
func (b *bed) request(by string, r control.Request) string {
	if by == "clickvault" {
		id, err := b.plane.InsertRequest(context.Background(), r)
		if err != nil {
			b.t.Fatal(err)
		}
		return id
	}
	r.RequestedBy = by
	return b.plane.Insert(r)
}

// wait returns the request's status once it is in one of states.
func (b *bed) wait(id string, states ...control.State) control.RequestStatus {
	b.t.Helper()
	return b.waitUntil(id, fmt.Sprint("in one of ", states), func(st control.RequestStatus) bool {
		return slices.Contains(states, st.State)
	})
}

// waitUntil returns the request's status once ok holds for it.
func (b *bed) waitUntil(id, what string, ok func(control.RequestStatus) bool) control.RequestStatus {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := b.plane.Status(context.Background(), id)
		if err == nil && ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("request %s: %+v (%v), want it %s", id, st, err, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (b *bed) expect(id string, state control.State, says string) {
	b.t.Helper()
	st := b.wait(id, state, control.StateSucceeded, control.StateFailed, control.StateRejected, control.StateCancelled)
	if st.State != state || !strings.Contains(st.Message, says) {
		b.t.Errorf("request %s ended %s %q; want %s saying %q", id, st.State, st.Message, state, says)
	}
}

// TestRequestLifecycle: backup, restore, verify and cleanup requests run
// and are answered once; the catalog table mirrors the backups.
func TestRequestLifecycle(t *testing.T) {
	b := newBed(t, control.Options{Databases: []string{"shop"}})
	backup := b.request("alice", control.Request{Action: "backup"})
	b.expect(backup, control.StateSucceeded, "full backup")
	b.expect(b.request("alice", control.Request{Action: "backup", Kind: "incremental"}), control.StateSucceeded, "incremental backup")
	b.expect(b.request("alice", control.Request{Action: "restore", Target: "shop_copy"}), control.StateSucceeded, "restored")
	if rows := b.db.Tables("shop_copy")["orders"]; rows != 10 {
		t.Fatalf("shop_copy.orders has %d rows after the restore, want 10", rows)
	}
	b.expect(b.request("alice", control.Request{Action: "verify"}), control.StateSucceeded, "verified")
	b.expect(b.request("alice", control.Request{Action: "cleanup", DryRun: true}), control.StateSucceeded, "would delete 0 backups")
	b.expect(b.request("clickvault", control.Request{Action: "cleanup"}), control.StateSucceeded, "deleted 0 backups")
	states := ""
	for _, e := range b.plane.Log(backup) {
		states += string(e.State) + " "
	}
	if !strings.HasPrefix(states, "queued running ") || !strings.HasSuffix(states, " succeeded ") || strings.Count(states, "succeeded") != 1 {
		t.Errorf("request_log of the backup: %q", states)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		rows, _ := b.plane.CatalogRows(context.Background(), "shop")
		if len(rows) == 2 && rows[0].Status == "completed" && rows[1].Base == rows[0].Name {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("catalog rows: %+v", rows)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRejections: each bad or unauthorized request is rejected with a
// message naming what was wrong, and nothing runs for it.
func TestRejections(t *testing.T) {
	b := newBed(t, control.Options{})
	for _, c := range []struct {
		by   string
		r    control.Request
		says string
	}{
		{"mallory", control.Request{Action: "backup"}, `lacks BACKUP on database shop`},
		{"alice", control.Request{Action: "explode"}, "unknown action"},
		// Rights first: without BACKUP on it, nothing says whether
		// database nothing exists; bob holds it and is told.
		{"alice", control.Request{Action: "backup", Database: "nothing"}, "lacks BACKUP on database nothing"},
		{"bob", control.Request{Action: "backup", Database: "nothing"}, "does not exist"},
		{"alice", control.Request{Action: "backup", Kind: "full"}, "lacks DROP TABLE"},
		{"alice", control.Request{Action: "cleanup"}, "lacks DROP TABLE"},
		{"alice", control.Request{Action: "restore", Target: "system"}, "lacks CREATE TABLE on database system"},
		{"bob", control.Request{Action: "restore", Target: "system"}, "system database"},
		{"alice", control.Request{Action: "restore", Target: "shop_copy"}, "has no completed backup"},
		{"alice", control.Request{Action: "restore", Target: "elsewhere", Backup: "20200101T000000000Z"}, "lacks CREATE TABLE on database elsewhere"},
		{"alice", control.Request{Action: "restore", Target: "shop_copy", Backup: "20200101T000000000Z"}, "no such backup"},
		{"carol", control.Request{Action: "restore", Target: "shop_carol"}, "row policy"},
		{"alice", control.Request{Action: "backup", Via: "http:12345678"}, "via is set only by the sidecar"},
		{"alice", control.Request{Action: "cancel", Backup: "0f8fad5b-d9cb-469f-a165-70867728950e"}, "no request"},
	} {
		b.expect(b.request(c.by, c.r), control.StateRejected, c.says)
	}
	b.expect(b.request("alice", control.Request{Action: "backup"}), control.StateSucceeded, "completed")
	b.expect(b.request("alice", control.Request{Action: "restore"}), control.StateRejected, "lacks CREATE TABLE on database shop")
	b.expect(b.request("bob", control.Request{Action: "restore"}), control.StateRejected, "not empty")
	b.expect(b.request("alice", control.Request{Action: "restore", Target: "shop_copy", Tables: []string{"orders AS t", "orders AS t"}}),
		control.StateRejected, "is the target of two tables")
	b.expect(b.request("mallory", control.Request{Action: "restore", Target: "shop_copy"}), control.StateRejected, "lacks SELECT on database shop")
	if n := len(b.db.Databases()); n != 1 {
		t.Fatalf("%d databases; the rejected restores must create none", n)
	}
}

// TestCancelHolds: a request queued behind a running backup of its
// database is cancelled by its requester (not by another user), with the
// only worker busy, and never runs; the running one is not interrupted.
func TestCancelHolds(t *testing.T) {
	b := newBed(t, control.Options{Workers: 1})
	b.db.Hold()
	running := b.request("alice", control.Request{Action: "backup"})
	b.wait(running, control.StateRunning)
	queued := b.request("alice", control.Request{Action: "backup"})
	b.wait(queued, control.StateQueued)
	b.expect(b.request("bob", control.Request{Action: "cancel", Backup: queued}), control.StateRejected, "no request \""+queued+"\" of yours")
	b.expect(b.request("alice", control.Request{Action: "cancel", Backup: running}), control.StateFailed, "already running")
	cancel := b.request("alice", control.Request{Action: "cancel", Backup: queued})
	b.expect(cancel, control.StateSucceeded, "cancelled request")
	b.expect(queued, control.StateCancelled, "cancelled by request "+cancel)
	b.db.Release()
	b.expect(running, control.StateSucceeded, "completed")
	// The cancelled request waited for the database first: by the time a
	// later request has had it, the cancelled one would have run.
	b.expect(b.request("alice", control.Request{Action: "backup"}), control.StateSucceeded, "completed")
	if st := b.wait(queued, control.StateCancelled, control.StateSucceeded, control.StateFailed); st.State != control.StateCancelled {
		t.Errorf("the cancelled request ended %s %q: it ran", st.State, st.Message)
	}
	for _, e := range b.plane.Log(queued) {
		if e.State == control.StateRunning || e.State == control.StateSucceeded {
			t.Errorf("the cancelled request has a %s row: it ran", e.State)
		}
	}
	if ops, _ := b.db.RecentOperations(context.Background(), 10); len(ops) != 2 {
		t.Errorf("%d backups ran; want 2 (the cancelled one must not)", len(ops))
	}
}

// TestScheduleAndAllowList: the schedule requests a backup as the sidecar's
// user, which the allow-list lets through and which runs, before any
// user's backup; a user off the allow-list is rejected, one on it is not.
func TestScheduleAndAllowList(t *testing.T) {
	b := newBed(t, control.Options{Databases: []string{"shop"}, IncrementalEvery: time.Hour,
		AllowUsers: []string{"clickvault", "bob"}})
	b.expect(b.scheduled(control.ActionBackup), control.StateSucceeded, "full backup")
	b.expect(b.request("alice", control.Request{Action: "backup"}), control.StateRejected, "allow-list")
	b.expect(b.request("bob", control.Request{Action: "backup"}), control.StateSucceeded, "completed")
}

// scheduled waits for the sidecar's own request of action, as its
// schedule makes it, and returns its id.
func (b *bed) scheduled(action control.Action) string {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, r := range b.plane.Requests() {
			if r.RequestedBy == "clickvault" && r.Action == action {
				return r.ID
			}
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("the schedule made no %s request within 10 s", action)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTableRestoreRequests: a dropped table comes back through a request,
// rights are checked per table, and replace takes DROP TABLE on it.
func TestTableRestoreRequests(t *testing.T) {
	b := newBed(t, control.Options{})
	b.expect(b.request("alice", control.Request{Action: "backup"}), control.StateSucceeded, "completed")
	if err := b.db.DropTable(context.Background(), "shop", "orders"); err != nil {
		t.Fatal(err)
	}
	b.expect(b.request("alice", control.Request{Action: "restore", Tables: []string{"orders"}}), control.StateSucceeded, "restored orders from")
	if rows := b.db.Tables("shop")["orders"]; rows != 10 {
		t.Fatalf("shop.orders has %d rows after the restore", rows)
	}
	b.expect(b.request("alice", control.Request{Action: "restore", Tables: []string{"orders"}, Mode: "replace"}),
		control.StateRejected, "lacks DROP TABLE on table shop.orders")
	b.expect(b.request("alice", control.Request{Action: "restore", Tables: []string{"orders"}}), control.StateRejected, "exists with 10 rows")
	b.expect(b.request("alice", control.Request{Action: "restore", Tables: []string{"orders AS orders_2"}}), control.StateRejected,
		"lacks CREATE TABLE on table shop.orders_2")
	b.expect(b.request("alice", control.Request{Action: "restore", Tables: []string{"ghost"}}), control.StateRejected, "lacks CREATE TABLE on table shop.ghost")
	b.expect(b.request("bob", control.Request{Action: "restore", Tables: []string{"ghost"}}), control.StateRejected, "holds table(s) ghost")
	b.expect(b.request("clickvault", control.Request{Action: "backup", ExcludeTables: []string{"orders"}}), control.StateSucceeded, "full backup")
	b.expect(b.request("alice", control.Request{Action: "backup", Tables: []string{"orders"}}), control.StateRejected, "lacks DROP TABLE")
}
