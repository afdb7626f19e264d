package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// clock is a shared fake clock the test moves on.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// executor is a func-field fake of the shard's backup; it counts its calls.
type executor struct {
	mu    sync.Mutex
	calls []cluster.Job
	fn    func(ctx context.Context, job cluster.Job) (setmodel.ShardResult, error)
}

func (e *executor) BackupShard(ctx context.Context, job cluster.Job) (setmodel.ShardResult, error) {
	e.mu.Lock()
	e.calls = append(e.calls, job)
	e.mu.Unlock()
	if e.fn != nil {
		return e.fn(ctx, job)
	}
	return setmodel.ShardResult{Backup: "b-" + job.Set.ID, Kind: job.Set.Kind}, nil
}

func (e *executor) jobs() []cluster.Job {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]cluster.Job(nil), e.calls...)
}

// node is one sidecar of the fake cluster.
type node struct {
	name string
	c    *cluster.Coordinator
	exec *executor
}

// world is a cluster of sidecars sharing one in-memory bucket and clock.
type world struct {
	store  *memstore.ObjectStore
	layout cluster.Layout
	clock  *clock
	topo   setmodel.Topology
	nodes  []*node
}

// newWorld makes one sidecar per replica of replicas ({2, 1}: shard 1 on
// node1 and node2, shard 2 on node3).
func newWorld(t *testing.T, replicas ...int) *world {
	t.Helper()
	return newWorldWith(t, nil, replicas...)
}

// newWorldWith is newWorld with each sidecar's options shaped by shape
// (given the node's index) when it is not nil.
func newWorldWith(t *testing.T, shape func(i int, o *cluster.Options), replicas ...int) *world {
	t.Helper()
	w := &world{store: memstore.New(), layout: cluster.Layout{Prefix: "p", ClusterID: "c1"},
		clock: &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}}
	var rows []setmodel.Row
	for s, n := range replicas {
		for r := 1; r <= n; r++ {
			rows = append(rows, setmodel.Row{Cluster: "vault", ShardNum: uint32(s + 1), ReplicaNum: uint32(r),
				HostName: "127.0.0.1", Port: uint16(9000 + len(rows))})
		}
	}
	topo, err := setmodel.NewTopology("vault", rows)
	if err != nil {
		t.Fatal(err)
	}
	w.topo = topo
	for i, r := range rows {
		self := cluster.Member{Holder: coord.Holder{Name: fmt.Sprintf("node%d", i+1), Stable: true},
			Position: setmodel.Position{Shard: int(r.ShardNum), Replica: int(r.ReplicaNum)}}
		n := &node{name: self.Holder.Name, exec: &executor{}}
		opts := cluster.Options{ClaimTTL: time.Minute, ShardTimeout: time.Hour, FullEvery: 24 * time.Hour}
		if shape != nil {
			shape(i, &opts)
		}
		n.c = cluster.New(w.store, w.layout, "vault", self, n.exec, opts, slog.New(slog.DiscardHandler))
		n.c.SetClock(w.clock.Now)
		w.nodes = append(w.nodes, n)
	}
	return w
}

func (w *world) create(t *testing.T, by int, req cluster.Request) setmodel.Set {
	t.Helper()
	if req.Database == "" {
		req.Database = "shop"
	}
	req.Topology = w.topo
	set, err := w.nodes[by].c.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func (w *world) step(t *testing.T, nodes ...int) {
	t.Helper()
	for _, i := range nodes {
		if err := w.nodes[i].c.Step(context.Background(), "shop"); err != nil {
			t.Fatalf("%s: step: %v", w.nodes[i].name, err)
		}
	}
}

func (w *world) set(t *testing.T, id string) (setmodel.Set, map[int]setmodel.ShardResult) {
	t.Helper()
	set, results, err := w.nodes[0].c.Status(context.Background(), "shop", id)
	if err != nil {
		t.Fatal(err)
	}
	return set, results
}

func (w *world) open(t *testing.T) setmodel.OpenSets {
	t.Helper()
	data, _, err := w.store.Get(context.Background(), w.layout.OpenSetsKey("shop"))
	if err != nil {
		t.Fatal(err)
	}
	var open setmodel.OpenSets
	if err := json.Unmarshal(data, &open); err != nil {
		t.Fatal(err)
	}
	return open
}
