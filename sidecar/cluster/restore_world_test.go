package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/model"
)

// backupRows are what each shard's backup holds: shard n's orders has
// 100*n rows (its backup is b{n}, in {shard n's root}full/b{n}/).
func backupRows(folder string) map[string]uint64 {
	var n uint64
	_, _ = fmt.Sscanf(path.Base(folder), "b%d", &n)
	if strings.Contains(folder, "/crm/") { // another database's set: its own table
		return map[string]uint64{"leads": 10 * n}
	}
	return map[string]uint64{"orders": 100 * n}
}

// fakeServer is one node's ClickHouse as a set's restore sees it: its
// databases' tables with their rows, and its RESTOREs by id. It refuses
// what ClickHouse refuses: a table that exists under create_table
// 'create', rows into a non-empty table without allow_non_empty_tables.
type fakeServer struct {
	mu      sync.Mutex
	dbs     map[string]map[string]uint64
	ops     map[string]error // RESTOREs this server knows, and how they ended
	sent    []sidecar.RestoreCommand
	copies  []string // the copy target each RESTORE read ("" = the primary)
	awaited []string // the copy target each wait went through
	denied  string   // Allowed refuses with this
	// deniedTo is a login Allowed refuses (an operator's request never).
	deniedTo string
	// lagging: the next RESTOREs sent run through this many waits that
	// cannot learn how they ended (ClickHouse not read for a while) and
	// restore only then; slow holds them meanwhile.
	lagging int
	slow    map[string]sidecar.RestoreCommand
	broken  string // a RESTORE of a folder whose key holds this fails, restoring nothing
	onStart func(cmd sidecar.RestoreCommand)
}

func newFakeServer() *fakeServer {
	return &fakeServer{dbs: map[string]map[string]uint64{}, ops: map[string]error{}}
}

func (f *fakeServer) Allowed(_ context.Context, who setmodel.Requester, _, _ string, _, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.denied != "" {
		return errors.New(who.Login + " " + f.denied)
	}
	if f.deniedTo != "" && who.Login == f.deniedTo && !who.Operator {
		return errors.New(who.Login + " may not restore on this node")
	}
	return nil
}

func (f *fakeServer) Target(_ context.Context, database string) (model.Target, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tables, ok := f.dbs[database]
	return model.Target{Name: database, Exists: ok, Objects: uint64(len(tables))}, nil
}

func (f *fakeServer) TableRows(_ context.Context, database string) (map[string]uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.dbs[database]), nil
}

func (f *fakeServer) Start(ctx context.Context, cmd sidecar.RestoreCommand, copy string) error {
	if ctx.Err() != nil { // the sidecar is gone: nothing is sent
		return ctx.Err()
	}
	f.mu.Lock()
	f.sent, f.copies = append(f.sent, cmd), append(f.copies, copy)
	if f.lagging > 0 {
		if f.slow == nil {
			f.slow = map[string]sidecar.RestoreCommand{}
		}
		f.slow[cmd.ID] = cmd
	} else {
		f.ops[cmd.ID] = f.restore(cmd)
	}
	hook := f.onStart
	f.mu.Unlock()
	if hook != nil {
		hook(cmd)
	}
	return nil
}

func (f *fakeServer) restore(cmd sidecar.RestoreCommand) error {
	if f.broken != "" && strings.Contains(cmd.Folder, f.broken) {
		return fmt.Errorf("backup %s: an object is missing", cmd.Folder)
	}
	if f.dbs[cmd.Target] == nil {
		f.dbs[cmd.Target] = map[string]uint64{}
	}
	db := f.dbs[cmd.Target]
	for table, rows := range backupRows(cmd.Folder) {
		n, exists := db[table]
		switch {
		case slicesContains(cmd.Except, table):
		case exists && cmd.CreateTable != sidecar.CreateTableIfNotExists:
			return fmt.Errorf("table %s exists", table)
		case n > 0 && !cmd.AllowNonEmptyTables && !cmd.StructureOnly:
			return fmt.Errorf("table %s already contains some data", table)
		case cmd.StructureOnly:
			db[table] = n
		default:
			db[table] = n + rows
		}
	}
	return nil
}

func (f *fakeServer) Await(ctx context.Context, id, _, _, copyName string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.awaited = append(f.awaited, copyName)
	if cmd, running := f.slow[id]; running {
		if f.lagging > 0 {
			f.lagging--
			return fmt.Errorf("%w: wait for restore %s: lost contact with ClickHouse for 2m0s", cluster.ErrNoVerdict, id)
		}
		delete(f.slow, id)
		f.ops[id] = f.restore(cmd)
	}
	err, ok := f.ops[id]
	if !ok {
		return fmt.Errorf("restore %s: %w", id, sidecar.ErrNotFound)
	}
	return err
}

func (f *fakeServer) rows(database string) map[string]uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.dbs[database])
}

func (f *fakeServer) sends() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

func slicesContains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

// restoreWorld is a world whose nodes run restore steps on fake servers,
// with a completed full set whose shard n's backup is folder f{n}.
type restoreWorld struct {
	*world
	servers []*fakeServer
	set     setmodel.Set
	faults  []func(string)
	atOnce  int // Options.DatabasesAtOnce of the nodes made by restart
}

func newRestoreWorld(t *testing.T, replicas ...int) *restoreWorld {
	t.Helper()
	w := &restoreWorld{world: newWorld(t, replicas...)}
	for i, n := range w.nodes {
		srv := newFakeServer()
		w.servers = append(w.servers, srv)
		w.faults = append(w.faults, nil)
		w.restart(i)
		shard := n.c.Self().Position.Shard
		n.exec.fn = func(_ context.Context, job cluster.Job) (setmodel.ShardResult, error) {
			folder := w.layout.Engine(shard).Folder(job.Set.Database, "full", fmt.Sprintf("b%d", shard))
			return setmodel.ShardResult{Backup: fmt.Sprintf("b%d", shard), Folder: folder, Kind: "full", Tables: backupRows(folder)}, nil
		}
	}
	out, _ := w.backupSet(t, control.SetRequest{Database: "shop", RequestID: "backup-1", RequestedBy: "alice"})
	w.set, _ = w.world.set(t, out.ID)
	return w
}

// restart makes node i's sidecar anew (as after a crash), with its fault hook.
func (w *restoreWorld) restart(i int) {
	n := w.nodes[i]
	faults := w.faults[i]
	n.c = cluster.New(w.store, w.layout, "vault", n.c.Self(), n.exec, cluster.Options{ClaimTTL: time.Minute,
		ShardTimeout: time.Hour, Restorer: w.servers[i], FaultPoint: faults, DatabasesAtOnce: w.atOnce}, slog.New(slog.DiscardHandler))
	n.c.SetClock(w.clock.Now)
}

func (w *restoreWorld) requests() cluster.Requests {
	return cluster.Requests{Coord: w.nodes[0].c, Poll: time.Millisecond,
		Topology: func(context.Context) (setmodel.Topology, error) { return w.topo, nil },
		Plan: func(context.Context, cluster.Source, string, int, string, string, model.Consumers) (model.RestorePlan, error) {
			return model.RestorePlan{Tables: []model.PlanEntry{{Table: "orders", Engine: "MergeTree", Action: model.PlanRestore}}}, nil
		}}
}

// restore runs a restore request on node 0 while the nodes step (each
// with ctxOf(i), so a test can stop one), and returns its outcome.
func (w *restoreWorld) restore(t *testing.T, req control.SetRestoreRequest, ctxOf func(i int) context.Context) (control.SetRestoreOutcome, error) {
	t.Helper()
	return w.restoreBy(t, w.requests(), req, ctxOf)
}
