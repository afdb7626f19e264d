package sidecar_test

import (
	"context"
	"errors"
	"fmt"
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

// testLayout is the engine tests' prefix.
var testLayout = coord.Layout{Prefix: "p"}

// engine is a Service on the in-memory store and the in-memory server.
type engine struct {
	*sidecar.Service
	store  *memstore.ObjectStore
	db     *fakedb.DB
	events *events
	n      int
}

type events struct {
	mu   sync.Mutex
	list []sidecar.Event
}

func (e *events) Notify(_ context.Context, ev sidecar.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, ev)
	return nil
}

func (e *events) names() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.list {
		out = append(out, ev.Event)
	}
	return strings.Join(out, ",")
}

func newEngine(t *testing.T, opts sidecar.Options) *engine {
	t.Helper()
	return newEngineOn(t, opts, fakedb.New)
}

// newEngineOn is newEngine on the server newServer makes.
func newEngineOn(t *testing.T, opts sidecar.Options, newServer func(coord.ObjectStore) *fakedb.DB) *engine {
	t.Helper()
	return newEngineWith(t, opts, engineShape{newServer: newServer})
}

// engineShape is what newEngineWith wires besides its defaults; a nil
// field keeps the default.
type engineShape struct {
	newServer func(coord.ObjectStore) *fakedb.DB            // default fakedb.New
	store     func(*memstore.ObjectStore) coord.ObjectStore // the store the engine and server see over the in-memory one
	ports     func(sidecar.ClickHouse) sidecar.ClickHouse   // the ports the engine uses over the server's
}

// newEngineWith is newEngine shaped by shape.
func newEngineWith(t *testing.T, opts sidecar.Options, shape engineShape) *engine {
	t.Helper()
	mem := memstore.New()
	var store coord.ObjectStore = mem
	if shape.store != nil {
		store = shape.store(mem)
	}
	if shape.newServer == nil {
		shape.newServer = fakedb.New
	}
	db := shape.newServer(store)
	db.Create("shop", map[string]uint64{"orders": 10, "items": 5})
	ev := &events{}
	opts.PollInterval = time.Millisecond
	if opts.FullEvery == 0 {
		opts.FullEvery = 24 * time.Hour
	}
	if opts.Holder.Name == "" {
		opts.Holder = coord.Holder{Name: "test"}
	}
	opts.ControlDatabase = "clickvault"
	if opts.UnsentGrace == 0 {
		opts.UnsentGrace = time.Nanosecond // adoptions right after a stop; TestABackupThatReachesClickHouseLateIsAdopted waits
	}
	if opts.ObjectLock == nil {
		opts.ObjectLock = mem // as production wires it: a bucket without Object Lock until a test enables it
	}
	ports := db.Ports()
	if shape.ports != nil {
		ports = shape.ports(ports)
	}
	svc := sidecar.NewService(store, ports, ev, testLayout, opts, slog.New(slog.DiscardHandler))
	return &engine{Service: svc, store: mem, db: db, events: ev}
}

// stoppedReplace starts a replace of orders with the backup and stops it
// while its RESTORE runs, as a kill would; it returns the operation.
func (e *engine) stoppedReplace(t *testing.T) string {
	t.Helper()
	e.db.Hold()
	ctx, cancel := context.WithCancel(context.Background())
	var id string
	_, err := e.Restore(ctx, sidecar.RestoreRequest{Database: "shop", Tables: ordersOnly, Mode: model.ModeReplace,
		Started: func(_ model.Backup, op string) { id = op; cancel() }})
	if err == nil || id == "" {
		t.Fatalf("a stopped replace: %v, operation %q", err, id)
	}
	e.db.Release()
	return id
}

func (e *engine) backup(t *testing.T, kind model.Kind) model.Backup {
	t.Helper()
	e.n++
	b, err := e.Backup(context.Background(), sidecar.BackupRequest{Database: "shop", Kind: kind, RequestID: fmt.Sprint("r", e.n)})
	if err != nil {
		t.Fatalf("backup %s: %v", kind, err)
	}
	return b
}

// TestChainRestoreVerify: a full, then incrementals each on the newest
// completed backup; a restore of the newest into a new database brings
// the tables back; verify agrees; the catalog shows one chain.
func TestChainRestoreVerify(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	ctx := context.Background()
	full := e.backup(t, "")
	if full.Kind != model.KindFull || !full.Completed() || full.Tables["orders"] != 10 {
		t.Fatalf("first backup: %+v", full.Meta)
	}
	if full.TableBytes["orders"] == 0 || full.TableBytes["items"] == 0 || len(full.TableBytes) != 2 {
		t.Fatalf("sizes of the tables from the manifest: %v", full.TableBytes)
	}
	inc := e.backup(t, "")
	if inc.Kind != model.KindIncremental || inc.Base != full.Name || inc.Chain != full.Name {
		t.Fatalf("second backup: kind %s base %q chain %q", inc.Kind, inc.Base, inc.Chain)
	}
	e.db.Create("shop", map[string]uint64{"orders": 12, "items": 5})
	inc2 := e.backup(t, model.KindIncremental)
	if inc2.Base != inc.Name {
		t.Fatalf("deep chaining: base %q, want %q", inc2.Base, inc.Name)
	}
	cat, err := e.Catalog(ctx, "shop")
	if err != nil || len(cat.Chains) != 1 || cat.Chains[0].Depth() != 3 {
		t.Fatalf("catalog: %v, %+v", err, cat.Chains)
	}
	res, err := e.Restore(ctx, sidecar.RestoreRequest{Database: "shop", Target: "shop_copy"})
	if err != nil || res.Backup.Name != inc2.Name || res.Tables["orders"] != 12 {
		t.Fatalf("restore: %v, %+v", err, res)
	}
	v, err := e.Verify(ctx, "shop", "", nil)
	if err != nil || v.Mismatches != 0 || len(v.Tables) != 2 {
		t.Fatalf("verify: %v, %+v", err, v)
	}
	if dbs := strings.Join(e.db.Databases(), ","); dbs != "shop,shop_copy" {
		t.Fatalf("databases after verify: %s (the scratch database must be dropped)", dbs)
	}
	if got := e.events.names(); got != "backup_completed,backup_completed,backup_completed,restore_completed" {
		t.Fatalf("notifications: %s", got)
	}
}

// TestRestoreRefusals: a non-empty target, a system or control database,
// an unknown backup, an as_of before every backup.
func TestRestoreRefusals(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	ctx := context.Background()
	b := e.backup(t, "")
	for _, c := range []struct {
		req  sidecar.RestoreRequest
		want error
	}{
		{sidecar.RestoreRequest{Database: "shop"}, model.ErrTargetNotEmpty},
		{sidecar.RestoreRequest{Database: "shop", Target: "system"}, model.ErrForbiddenTarget},
		{sidecar.RestoreRequest{Database: "shop", Target: "ClickVault"}, model.ErrForbiddenTarget},
		{sidecar.RestoreRequest{Database: "shop", Target: "x", Tables: []model.TableRestore{
			{Source: "orders", Target: "t"}, {Source: "items", Target: "t"}}}, model.ErrTargetConflict},
		{sidecar.RestoreRequest{Database: "shop", Target: "x", Backup: "20200101T000000000Z"}, model.ErrBackupMissing},
		{sidecar.RestoreRequest{Database: "shop", Target: "x", AsOf: b.Timestamp.Add(-time.Hour)}, model.ErrBackupMissing},
		{sidecar.RestoreRequest{Database: "nothing", Target: "x"}, model.ErrBackupMissing},
	} {
		if _, err := e.Restore(ctx, c.req); !errors.Is(err, c.want) {
			t.Errorf("%+v: got %v, want %v", c.req, err, c.want)
		}
	}
	target, err := e.InspectTarget(ctx, "shop")
	if err != nil || !target.Exists || target.Objects != 2 || target.RequireEmpty() == nil {
		t.Fatalf("inspect shop: %+v, %v", target, err)
	}
	if target, err := e.InspectTarget(ctx, "new_db"); err != nil || target.Exists || target.RequireEmpty() != nil {
		t.Fatalf("inspect a new database: %+v, %v", target, err)
	}
	if err := e.RequireDatabase(ctx, "nothing"); !errors.Is(err, model.ErrDatabaseMissing) {
		t.Fatalf("require a missing database: %v", err)
	}
}

// TestFailedBackupIsRecorded: ClickHouse's failure is in the metadata and
// the notification; a failed backup is never a base, so the next one is
// a full again.
func TestFailedBackupIsRecorded(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	ctx := context.Background()
	e.db.FailNextBackup("Code: 243. DB::Exception: not enough space. (NOT_ENOUGH_SPACE)")
	b, err := e.Backup(ctx, sidecar.BackupRequest{Database: "shop"})
	if err == nil || !strings.Contains(err.Error(), "NOT_ENOUGH_SPACE") || !b.Failed() {
		t.Fatalf("failed backup: %v, %+v", err, b.Meta)
	}
	next := e.backup(t, "")
	if next.Kind != model.KindFull {
		t.Fatalf("after a failed full the next backup is %s, want full", next.Kind)
	}
	if _, err := e.Backup(ctx, sidecar.BackupRequest{Database: "gone"}); !errors.Is(err, model.ErrDatabaseMissing) {
		t.Fatalf("backup of a missing database: %v", err)
	}
	if got := e.events.names(); !strings.HasPrefix(got, "backup_failed,backup_completed") {
		t.Fatalf("notifications: %s", got)
	}
}

// TestCleanupKeepsNewestChains: with one chain kept, a cleanup deletes the
// older chain whole (a dry run only plans it) and keeps the newest.
func TestCleanupKeepsNewestChains(t *testing.T) {
	e := newEngine(t, sidecar.Options{Retention: model.Retention{KeepFullBackups: 1}})
	ctx := context.Background()
	old := e.backup(t, "")
	e.backup(t, "")
	newest := e.backup(t, model.KindFull)
	e.backup(t, "")
	dry, err := e.Cleanup(ctx, "shop", true)
	if err != nil || len(dry.Planned) != 2 || len(dry.Deleted) != 0 {
		t.Fatalf("dry run: %v, %+v", err, dry)
	}
	rep, err := e.Cleanup(ctx, "shop", false)
	if err != nil || len(rep.Deleted) != 2 || rep.Deleted[1] != old.Name {
		t.Fatalf("cleanup: %v, %+v", err, rep)
	}
	cat, err := e.Catalog(ctx, "shop")
	if err != nil || len(cat.Chains) != 1 || cat.Chains[0].Name() != newest.Name {
		t.Fatalf("after cleanup: %v, %+v", err, cat.Chains)
	}
	keys, _ := e.store.List(ctx, "p/shop/full/"+old.Name+"/", true)
	if len(keys.Objects) != 0 {
		t.Fatalf("objects of the deleted chain remain: %v", keys.Objects)
	}
}

// TestAdoption: a backup whose run ended before ClickHouse did (ctx
// cancelled) stays running in its metadata; Adopt finds the outcome, by
// the operation or, after a server restart, by the .backup object.
func TestAdoption(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	e.db.Hold()
	ctx, cancel := context.WithCancel(context.Background())
	var started model.Backup
	_, err := e.Backup(ctx, sidecar.BackupRequest{Database: "shop", Started: func(b model.Backup) {
		started = b
		cancel()
	}})
	if err == nil || started.Name == "" {
		t.Fatalf("a cancelled run: %v, started %q", err, started.Name)
	}
	e.db.Release()
	e.db.Forget() // and the server restarted: only the bucket knows
	b, err := e.Adopt(context.Background(), "shop", started.Name, sidecar.Requester{}, nil, sidecar.Turns{})
	if err != nil || !b.Completed() {
		t.Fatalf("adopt: %v, %+v", err, b.Meta)
	}
	// The next backup builds on the adopted one.
	if next := e.backup(t, ""); next.Base != started.Name {
		t.Fatalf("next base %q, want the adopted %q", next.Base, started.Name)
	}
}

// TestLeaseKeepsOneWriter: while another writer holds the database's
// lease, a backup that does not wait is refused naming the holder.
func TestLeaseKeepsOneWriter(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	ctx := context.Background()
	l, err := coord.AcquireLease(ctx, e.store, testLayout.LeaseKey("shop"), coord.Holder{Name: "other"}, coord.PurposeBackup,
		time.Minute, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var held *coord.LeaseHeldError
	if _, err := e.Backup(ctx, sidecar.BackupRequest{Database: "shop"}); !errors.As(err, &held) || held.Info.Holder != "other" {
		t.Fatalf("backup under another's lease: %v", err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	e.backup(t, "")
}

// TestSameRequestIsOneBackup: a request's second run (a restart) finds its
// backup by request id instead of taking another.
func TestSameRequestIsOneBackup(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	ctx := context.Background()
	first, err := e.Backup(ctx, sidecar.BackupRequest{Database: "shop", RequestID: "req-1"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.Backup(ctx, sidecar.BackupRequest{Database: "shop", RequestID: "req-1"})
	if err != nil || again.Name != first.Name {
		t.Fatalf("the same request again: %v, %s; want %s", err, again.Name, first.Name)
	}
	cat, _ := e.Catalog(ctx, "shop")
	if n := len(cat.All()); n != 1 {
		t.Fatalf("%d backups for one request", n)
	}
}
