package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/clickhouse"
	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/testbed"
	"github.com/clickvault/clickvault/sidecar/s3"
)

// bedSidecar is one node's sidecar: its engine as grants.sql's clickvault,
// its shard's chains, and a coordinator stepping the open sets.
type bedSidecar struct {
	node  *testbed.Node
	coord *cluster.Coordinator
	topo  setmodel.Topology
	admin *ch.Client
	// kill stops the sidecar as a crash would: its bucket calls fail from
	// now on (no renewal, no release) and its steps stop. Its server goes
	// on, running whatever BACKUP it was sent.
	kill func()
	// bucket is the sidecar's way to the bucket: its dead flag, set and
	// cleared, holds the sidecar off for a while (its steps fail).
	bucket *killableStore
}

// killableStore is a sidecar's bucket until the sidecar is killed.
type killableStore struct {
	coord.ObjectStore
	dead atomic.Bool
}

var errKilled = errors.New("this sidecar was killed")

func (k *killableStore) List(ctx context.Context, prefix string, recursive bool) (coord.Listing, error) {
	if k.dead.Load() {
		return coord.Listing{}, errKilled
	}
	return k.ObjectStore.List(ctx, prefix, recursive)
}

func (k *killableStore) Get(ctx context.Context, key string) ([]byte, string, error) {
	if k.dead.Load() {
		return nil, "", errKilled
	}
	return k.ObjectStore.Get(ctx, key)
}

func (k *killableStore) Put(ctx context.Context, key string, data []byte, cond coord.PutCondition) (string, error) {
	if k.dead.Load() {
		return "", errKilled
	}
	return k.ObjectStore.Put(ctx, key, data, cond)
}

func (k *killableStore) Exists(ctx context.Context, key string) (bool, error) {
	if k.dead.Load() {
		return false, errKilled
	}
	return k.ObjectStore.Exists(ctx, key)
}

func (k *killableStore) Delete(ctx context.Context, keys []string) error {
	if k.dead.Load() {
		return errKilled
	}
	return k.ObjectStore.Delete(ctx, keys)
}

var bedLayout = cluster.Layout{Prefix: "clickhouse", ClusterID: "vault-eu"}

// startSidecars starts a sidecar per node, placed by system.clusters, each
// stepping the open sets of shop every 100 ms until the test ends. Sets
// they create wait 5 minutes for their shards, or shardTimeout.
func startSidecars(t *testing.T, ctx context.Context, c *testbed.Cluster, shardTimeout ...time.Duration) []*bedSidecar {
	t.Helper()
	o := bedOptions{shardTimeout: 5 * time.Minute}
	if len(shardTimeout) > 0 {
		o.shardTimeout = shardTimeout[0]
	}
	return startSidecarsWith(t, ctx, c, o)
}

// bedOptions change startSidecars' sidecars.
type bedOptions struct {
	shardTimeout time.Duration
	// serverS3Secret, when set, is the S3 secret a node's server is given
	// for its BACKUPs (the sidecar's own bucket calls keep the right one).
	serverS3Secret func(n *testbed.Node) string
}

// startSidecarsWith is startSidecars with o.
func startSidecarsWith(t *testing.T, ctx context.Context, c *testbed.Cluster, o bedOptions) []*bedSidecar {
	t.Helper()
	m := c.MinIO
	store, err := s3.New(ctx, s3.Config{Endpoint: m.Endpoint, Region: m.Region, Bucket: m.Bucket, AccessKey: m.AccessKey, SecretKey: m.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	var g errgroup.Group
	var stops []context.CancelFunc
	t.Cleanup(func() {
		for _, stop := range stops {
			stop()
		}
		_ = g.Wait()
	})
	timeout := o.shardTimeout
	var out []*bedSidecar
	for _, n := range c.Nodes {
		secret := m.SecretKey
		if o.serverS3Secret != nil {
			secret = o.serverS3Secret(n)
		}
		db, err := clickhouse.Open(ctx, clickhouse.Config{Addr: n.ClickHouse.Addr, User: "clickvault", Password: n.ClickHouse.Password("clickvault"),
			S3: clickhouse.S3Target{Endpoint: m.Endpoint, Bucket: m.Bucket, AccessKey: m.AccessKey, SecretKey: secret}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		rows, err := db.ClusterRows(ctx, c.Name)
		if err != nil {
			t.Fatal(err)
		}
		topo, err := setmodel.NewTopology(c.Name, rows)
		if err != nil {
			t.Fatal(err)
		}
		pos, err := setmodel.Locate(topo, setmodel.Override{})
		if err != nil {
			t.Fatal(err)
		}
		logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("node", n.Name)
		holder := coord.Holder{Name: "clickvault@" + n.Name, Stable: true}
		own := &killableStore{ObjectStore: store}
		svc := sidecar.NewService(own, db.Ports(), nil, bedLayout.Engine(pos.Shard),
			sidecar.Options{Holder: holder, PollInterval: 100 * time.Millisecond, LeaseTTL: 3 * time.Second}, logger)
		co := cluster.New(own, bedLayout, c.Name, cluster.Member{Holder: holder, Position: pos}, cluster.Engine{Service: svc},
			cluster.Options{ShardTimeout: timeout, ClaimTTL: 3 * time.Second}, logger)
		runCtx, stop := context.WithCancel(context.Background())
		stops = append(stops, stop)
		g.Go(func() error { return co.Run(runCtx, []string{"shop"}, 100*time.Millisecond) })
		out = append(out, &bedSidecar{node: n, coord: co, topo: topo, admin: dialAdmin(t, ctx, n),
			kill: func() { own.dead.Store(true); stop() }, bucket: own})
	}
	return out
}

func dialAdmin(t *testing.T, ctx context.Context, n *testbed.Node) *ch.Client {
	t.Helper()
	conn, err := n.ClickHouse.Dial(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func execSQL(t *testing.T, ctx context.Context, conn *ch.Client, query string) {
	t.Helper()
	var discard proto.Results
	q := ch.Query{Body: query, Result: discard.Auto(), OnResult: func(context.Context, proto.Block) error { return nil }}
	if err := conn.Do(ctx, q); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// fingerprint is what a node's rows of a table are: count, sum and ends.
func fingerprint(t *testing.T, ctx context.Context, conn *ch.Client, table string) string {
	t.Helper()
	var col proto.ColStr
	q := fmt.Sprintf("SELECT format('{} rows, sum {}, {}..{}', count(), sum(id), min(id), max(id)) AS f FROM %s", table)
	if err := conn.Do(ctx, ch.Query{Body: q, Result: proto.Results{{Name: "f", Data: &col}}}); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return col.Row(0)
}

// createSet makes a set on one node and waits until a sidecar seals it.
func createSet(t *testing.T, ctx context.Context, s *bedSidecar, requestID string) (setmodel.Set, map[int]setmodel.ShardResult) {
	t.Helper()
	set, err := s.coord.Create(ctx, cluster.Request{Database: "shop", RequestID: requestID, RequestedBy: "alice", Topology: s.topo})
	if err != nil {
		t.Fatal(err)
	}
	return waitSealed(t, ctx, s, set.ID)
}

// restoredFingerprint restores a shard's backup into a new database on
// conn's node and returns the fingerprint of its orders.
func restoredFingerprint(t *testing.T, ctx context.Context, conn *ch.Client, m *testbed.MinIO, folder, as string) string {
	t.Helper()
	execSQL(t, ctx, conn, fmt.Sprintf("RESTORE DATABASE shop AS %s FROM S3('%s')", as, m.URL(folder)))
	return fingerprint(t, ctx, conn, as+".orders")
}

// baseOf reads base_backup_path from a backup's metadata.
func baseOf(t *testing.T, ctx context.Context, m *testbed.MinIO, folder string) string {
	t.Helper()
	store, err := s3.New(ctx, s3.Config{Endpoint: m.Endpoint, Region: m.Region, Bucket: m.Bucket, AccessKey: m.AccessKey, SecretKey: m.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := store.Get(ctx, coord.MetaKey(folder))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Base *string `json:"base_backup_path"`
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Base == nil {
		return ""
	}
	return *meta.Base
}

// shopOnEveryNode creates shop.orders on each node with rows of its own
// (ids from node*1e6), the same rows on nodes of one shard, and a
// Distributed table over them.
func shopOnEveryNode(t *testing.T, ctx context.Context, sidecars []*bedSidecar, rows func(shard int) int) {
	t.Helper()
	for _, s := range sidecars {
		execSQL(t, ctx, s.admin, "CREATE DATABASE IF NOT EXISTS shop")
		execSQL(t, ctx, s.admin, "CREATE TABLE IF NOT EXISTS shop.orders (id UInt64) ENGINE = MergeTree ORDER BY id")
		execSQL(t, ctx, s.admin, fmt.Sprintf("INSERT INTO shop.orders SELECT %d * 1000000 + number FROM numbers(%d)",
			s.node.Shard, rows(s.node.Shard)))
		execSQL(t, ctx, s.admin, "CREATE TABLE IF NOT EXISTS shop.all_orders AS shop.orders ENGINE = Distributed(vault, shop, orders)")
	}
}
