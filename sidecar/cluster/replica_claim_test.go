package cluster_test

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
	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/internal/fakedb"
)

// replication is a fake of a node's system.replicas and SYNC REPLICA: its
// rows (HAND-WRITTEN, the columns of ClickHouse's docs; the test bed has
// no ReplicatedMergeTree), its tables, and the statements it was sent.
type replication struct {
	mu     sync.Mutex
	rows   []setmodel.ReplicaRow
	tables []setmodel.TableRow
	synced []string
	fail   error
}

func (r *replication) Replicas(context.Context, string) ([]setmodel.ReplicaRow, error) {
	return r.rows, nil
}
func (r *replication) Tables(context.Context, string) ([]setmodel.TableRow, error) {
	return r.tables, nil
}
func (r *replication) Sync(_ context.Context, s setmodel.Statement) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.synced = append(r.synced, s.SQL)
	return r.fail
}

// replicated is one Replicated table's row with the given lag.
func replicated(delay uint64) []setmodel.ReplicaRow {
	return []setmodel.ReplicaRow{{Database: "shop", Table: "events", Engine: "ReplicatedMergeTree", AbsoluteDelay: delay,
		LogMaxIndex: 10, LogPointer: 11, TotalReplicas: 2, ActiveReplicas: 2}}
}

// gatedWorld is shard 1 on two replicas, each sidecar reading its own
// (fake) system.replicas: replica 1 lags 100 s, replica 2 is current.
func gatedWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t, 2)
	for i, n := range w.nodes {
		rep := &replication{rows: replicated(uint64(100 * (1 - i)))}
		n.c = cluster.New(w.store, w.layout, "vault", n.c.Self(), n.exec,
			cluster.Options{ClaimTTL: time.Minute, ShardTimeout: time.Hour, Replication: rep}, slog.New(slog.DiscardHandler))
		n.c.SetClock(w.clock.Now)
	}
	return w
}

// TestTheFittestReplicaClaims: the replica that lags least backs the
// shard up. The lagging one, stepping first, waits for the other's report;
// the current one, having read both, claims; the lagging one never backs
// the shard up.
func TestTheFittestReplicaClaims(t *testing.T) {
	w := gatedWorld(t)
	set := w.create(t, 0, cluster.Request{RequestID: "r1"})
	w.step(t, 0)
	if n := len(w.nodes[0].exec.jobs()); n != 0 {
		t.Fatalf("the lagging replica backed up before the other reported (%d)", n)
	}
	w.step(t, 1, 0, 1)
	if n1, n2 := len(w.nodes[0].exec.jobs()), len(w.nodes[1].exec.jobs()); n1 != 0 || n2 != 1 {
		t.Errorf("backups by replica 1: %d, by replica 2: %d; want replica 2's only", n1, n2)
	}
	if got, results := w.set(t, set.ID); got.State != setmodel.SetCompleted || results[1].Replica != 2 {
		t.Errorf("set %s, shard 1 by replica %d", got.State, results[1].Replica)
	}
}

// TestAReplicaNotChosenClaimsAfterTheGrace: the chosen replica never
// claims (its sidecar reported, then stopped): the other waits the grace
// (ClaimTTL) from the set's making, then backs the shard up. One never
// heard from is passed over after a quarter of it.
func TestAReplicaNotChosenClaimsAfterTheGrace(t *testing.T) {
	w := gatedWorld(t)
	w.create(t, 0, cluster.Request{RequestID: "r1"})
	w.step(t, 1) // replica 2 reports ...
	w.nodes[1].exec.fn = func(ctx context.Context, _ cluster.Job) (setmodel.ShardResult, error) {
		return setmodel.ShardResult{}, errors.New("not reached")
	}
	w.clock.Add(59 * time.Second) // ... and stops before it claims
	w.step(t, 0)
	if n := len(w.nodes[0].exec.jobs()); n != 0 {
		t.Fatalf("replica 1 claimed before the grace (%d)", n)
	}
	w.clock.Add(time.Second)
	w.step(t, 0)
	if n := len(w.nodes[0].exec.jobs()); n != 1 {
		t.Errorf("replica 1 after the grace: %d backups, want 1", n)
	}
	w2 := gatedWorld(t) // replica 2 never reports: passed over after 15 s
	w2.create(t, 0, cluster.Request{RequestID: "r1"})
	w2.clock.Add(15 * time.Second)
	w2.step(t, 0)
	if n := len(w2.nodes[0].exec.jobs()); n != 1 {
		t.Errorf("replica 1 with replica 2 never heard from: %d backups, want 1", n)
	}
}

// TestEngineSyncsTheReplicaFirst: before a shard's backup the engine runs
// SYNC REPLICA … LIGHTWEIGHT of each replicated table; one that fails
// (TIMEOUT_EXCEEDED) fails the shard, saying which, and nothing is backed
// up.
func TestEngineSyncsTheReplicaFirst(t *testing.T) {
	w := newWorld(t, 1)
	db := fakedb.New(w.store)
	db.Create("shop", map[string]uint64{"events": 10})
	svc := sidecar.NewService(w.store, db.Ports(), nil, w.layout.Engine(1), sidecar.Options{PollInterval: time.Millisecond},
		slog.New(slog.DiscardHandler))
	rep := &replication{tables: []setmodel.TableRow{{Database: "shop", Name: "events", Engine: "ReplicatedMergeTree"},
		{Database: "shop", Name: "scratch", Engine: "MergeTree"}}}
	engine := cluster.Engine{Service: svc, Replication: rep, SyncTimeout: time.Minute}
	set := setmodel.Set{ID: "s1", Database: "shop", Kind: setmodel.KindFull}
	res, err := engine.BackupShard(context.Background(), cluster.Job{Set: set, Shard: 1, RequestID: "job-1"})
	if err != nil || res.Backup == "" || strings.Join(rep.synced, ";") != "SYSTEM SYNC REPLICA `shop`.`events` LIGHTWEIGHT" {
		t.Fatalf("backup after SYNC REPLICA: %+v, %v; synced %v", res, err, rep.synced)
	}
	rep.fail = errors.New("code: 159, TIMEOUT_EXCEEDED")
	res, err = engine.BackupShard(context.Background(), cluster.Job{Set: set, Shard: 1, RequestID: "job-2"})
	if err == nil || !strings.Contains(err.Error(), "SYSTEM SYNC REPLICA `shop`.`events` LIGHTWEIGHT: code: 159") || res.Backup != "" {
		t.Errorf("a replica that cannot be made current: %+v, %v", res, err)
	}
}

// TestReplicasForgetTheirReportsOfSealedSets: each replica remembers the
// report it wrote for a set only while the set is open: a sidecar of a
// replicated shard would otherwise hold one entry for every set it ever
// stepped.
func TestReplicasForgetTheirReportsOfSealedSets(t *testing.T) {
	w := gatedWorld(t)
	for i := range 3 {
		w.create(t, 0, cluster.Request{RequestID: fmt.Sprintf("r%d", i)})
		w.step(t, 1, 0, 1) // both report; replica 2 backs the shard up and seals
		if n := cluster.CachedReports(w.nodes[0].c); n != 1 {
			t.Fatalf("replica 1 remembers %d reports while the set is open, want its one", n)
		}
		w.step(t, 0, 1)
		for j, n := range w.nodes {
			if got := cluster.CachedReports(n.c); got != 0 {
				t.Fatalf("replica %d remembers %d reports after set %d was sealed, want none", j+1, got, i)
			}
		}
		w.clock.Add(time.Minute)
	}
}
