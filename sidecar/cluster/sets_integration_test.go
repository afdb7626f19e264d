package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/testbed"
	"github.com/clickvault/clickvault/sidecar/s3"
)

// TestSetOfThreeShards: three engines, each with its own sidecar. A set
// holds one backup per shard, each holding exactly its node's rows at
// backup time (restored and compared); after more rows, an incremental
// set's backup of each shard is built on that same shard's backup, and
// restores to the node's rows then. Made on node 3, sealed completed.
func TestSetOfThreeShards(t *testing.T) {
	c := testbed.NewCluster(t, testbed.ClusterOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	sidecars := startSidecars(t, ctx, c)
	shopOnEveryNode(t, ctx, sidecars, func(shard int) int { return 1000 * shard })
	atFirst := map[int]string{}
	for _, s := range sidecars {
		atFirst[s.node.Shard] = fingerprint(t, ctx, s.admin, "shop.orders")
	}
	first, firsts := createSet(t, ctx, sidecars[2], "r1")
	shopOnEveryNode(t, ctx, sidecars, func(shard int) int { return 10 * shard })
	second, seconds := createSet(t, ctx, sidecars[2], "r2")
	for _, set := range []setmodel.Set{first, second} {
		if set.State != setmodel.SetCompleted || set.Kind == "" || set.CreatedBy != "clickvault@node3" {
			t.Fatalf("set %s: %s (%v), kind %s", set.ID, set.State, set.Reasons, set.Kind)
		}
	}
	for _, s := range sidecars {
		shard := s.node.Shard
		f, i := firsts[shard], seconds[shard]
		root := bedLayout.ShardRoot("shop", shard)
		if f.Node != "clickvault@"+s.node.Name || f.Kind != "full" || i.Kind != "incremental" {
			t.Errorf("shard %d: first %+v, second %+v", shard, f, i)
		}
		if !strings.HasPrefix(f.Folder, root) || !strings.HasPrefix(i.Folder, root) {
			t.Errorf("shard %d's backups %s, %s are not in its folder %s", shard, f.Folder, i.Folder, root)
		}
		if base := baseOf(t, ctx, c.MinIO, i.Folder); base != f.Folder {
			t.Errorf("shard %d's incremental is built on %q, want its own full %s", shard, base, f.Folder)
		}
		if got := restoredFingerprint(t, ctx, s.admin, c.MinIO, f.Folder, "first_check"); got != atFirst[shard] {
			t.Errorf("shard %d's first backup holds %s, its node had %s", shard, got, atFirst[shard])
		}
		now := fingerprint(t, ctx, s.admin, "shop.orders")
		if got := restoredFingerprint(t, ctx, s.admin, c.MinIO, i.Folder, "second_check"); got != now {
			t.Errorf("shard %d's incremental restores %s, its node has %s", shard, got, now)
		}
	}
}

// TestSetShardOnTwoNodes: shard 1 on two nodes with the same rows, shard
// 2 on one, every sidecar stepping at once: shard 1 is backed up exactly
// once (one backup in its folder, by one of its replicas) and holds its
// rows; the set is completed.
func TestSetShardOnTwoNodes(t *testing.T) {
	c := testbed.NewCluster(t, testbed.ClusterOptions{Replicas: []int{2, 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	sidecars := startSidecars(t, ctx, c)
	shopOnEveryNode(t, ctx, sidecars, func(shard int) int { return 500 * shard })
	for _, id := range []string{"r1", "r2"} {
		set, results := createSet(t, ctx, sidecars[1], id)
		if set.State != setmodel.SetCompleted || len(results) != 2 {
			t.Fatalf("set %s: %s (%v), results %v", set.ID, set.State, set.Reasons, results)
		}
		if n := results[1].Node; n != "clickvault@node1" && n != "clickvault@node2" {
			t.Errorf("shard 1 backed up by %q, not one of its replicas", n)
		}
	}
	store, err := s3.New(ctx, s3.Config{Endpoint: c.MinIO.Endpoint, Region: c.MinIO.Region, Bucket: c.MinIO.Bucket,
		AccessKey: c.MinIO.AccessKey, SecretKey: c.MinIO.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	for shard, want := range map[int]int{1: 2, 2: 2} {
		var backups []string
		for _, kind := range []string{"full", "incremental"} {
			l, err := store.List(ctx, bedLayout.Engine(shard).KindRoot("shop", kind), false)
			if err != nil {
				t.Fatal(err)
			}
			backups = append(backups, l.Folders...)
		}
		if len(backups) != want {
			t.Errorf("shard %d has %d backups for 2 sets, want %d: %v", shard, len(backups), want, backups)
		}
	}
	want := fingerprint(t, ctx, sidecars[0].admin, "shop.orders")
	full := bedLayout.Engine(1).KindRoot("shop", "full")
	l, err := store.List(ctx, full, false)
	if err != nil || len(l.Folders) != 1 {
		t.Fatalf("shard 1's fulls: %v, %v", l.Folders, err)
	}
	if got := restoredFingerprint(t, ctx, sidecars[2].admin, c.MinIO, l.Folders[0], "shard1_check"); got != want {
		t.Errorf("shard 1's full restores %s, its replicas have %s", got, want)
	}
}

// TestSetReplicaKilledMidBackup: shard 1 on two nodes. The sidecar holding
// shard 1's claim is killed while its BACKUP runs (its server goes on
// writing). Once the claim is stale the other replica takes shard 1 over
// and finishes it: the set is completed, shard 1's result is the other
// node's, and its backup holds the shard's rows.
func TestSetReplicaKilledMidBackup(t *testing.T) {
	c := testbed.NewCluster(t, testbed.ClusterOptions{Replicas: []int{2, 1},
		Options: testbed.Options{Settings: map[string]string{"max_backup_bandwidth": "2000000"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	sidecars := startSidecars(t, ctx, c)
	shopOnEveryNode(t, ctx, sidecars, func(shard int) int { return 100 })
	for _, s := range sidecars[:2] { // hashes: ~20 MB that hardly compress, the same on both replicas
		execSQL(t, ctx, s.admin, "CREATE TABLE shop.blobs (id UInt64, a UInt64, b UInt64) ENGINE = MergeTree ORDER BY id")
		execSQL(t, ctx, s.admin, "INSERT INTO shop.blobs SELECT number, cityHash64(number), cityHash64(number, 1) FROM numbers(800000)")
	}
	set, err := sidecars[2].coord.Create(ctx, cluster.Request{Database: "shop", RequestID: "r1", RequestedBy: "alice", Topology: sidecars[2].topo})
	if err != nil {
		t.Fatal(err)
	}
	store := plainStore(t, ctx, c.MinIO)
	holder := waitClaimed(t, ctx, store, set)
	var victim, survivor *bedSidecar
	for _, s := range sidecars[:2] {
		if "clickvault@"+s.node.Name == holder {
			victim = s
		} else {
			survivor = s
		}
	}
	if victim == nil {
		t.Fatalf("shard 1 claimed by %q, not a replica of shard 1", holder)
	}
	waitBackupRunning(t, ctx, victim.admin)
	victim.kill()
	got, results := waitSealed(t, ctx, sidecars[2], set.ID)
	if got.State != setmodel.SetCompleted || results[1].Node != "clickvault@"+survivor.node.Name {
		t.Fatalf("set %s (%v); shard 1 by %q, want %s after %s was killed", got.State, got.Reasons, results[1].Node,
			survivor.node.Name, victim.node.Name)
	}
	// Shard 1 holds the rows of when the survivor started it, after the
	// set was created: as_of judges the set by that start.
	if got.LastShardStart == nil || got.LastShardStart.Before(results[1].StartedAt) || !got.DataTime().After(got.CreatedAt) {
		t.Errorf("set created %v, last shard start %v, shard 1 started %v: the set's time for as_of must be the survivor's start",
			got.CreatedAt, got.LastShardStart, results[1].StartedAt)
	}
	want := fingerprint(t, ctx, survivor.admin, "shop.blobs")
	execSQL(t, ctx, sidecars[2].admin, fmt.Sprintf("RESTORE DATABASE shop AS shard1_check FROM S3('%s')", c.MinIO.URL(results[1].Folder)))
	if got := fingerprint(t, ctx, sidecars[2].admin, "shard1_check.blobs"); got != want {
		t.Errorf("shard 1's backup by the survivor holds %s, the shard has %s", got, want)
	}
}

func plainStore(t *testing.T, ctx context.Context, m *testbed.MinIO) *s3.ObjectStore {
	t.Helper()
	store, err := s3.New(ctx, s3.Config{Endpoint: m.Endpoint, Region: m.Region, Bucket: m.Bucket, AccessKey: m.AccessKey, SecretKey: m.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// waitClaimed waits until a replica holds shard 1's claim of set and its
// backup's metadata (written before the BACKUP is sent) is in the shard's
// folder, and returns the holder.
func waitClaimed(t *testing.T, ctx context.Context, store *s3.ObjectStore, set setmodel.Set) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		data, _, err := store.Get(ctx, bedLayout.ClaimKey("shop", set.ID, 1))
		l, lerr := store.List(ctx, bedLayout.Engine(1).KindRoot("shop", "full"), false)
		if err == nil && lerr == nil && len(l.Folders) > 0 {
			var info coord.LeaseInfo
			if err := json.Unmarshal(data, &info); err != nil {
				t.Fatal(err)
			}
			return info.Holder
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no replica claimed shard 1 and started its backup within a minute")
	return ""
}

// waitBackupRunning waits until the node's server runs a BACKUP
// (system.backups: CREATING_BACKUP), so a sidecar killed from then on
// leaves its server writing.
func waitBackupRunning(t *testing.T, ctx context.Context, conn *ch.Client) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var n proto.ColUInt64
		q := ch.Query{Body: "SELECT count() AS n FROM system.backups WHERE status = 'CREATING_BACKUP'", Result: proto.Results{{Name: "n", Data: &n}}}
		if err := conn.Do(ctx, q); err != nil {
			t.Fatalf("%s: %v", q.Body, err)
		}
		if n.Rows() > 0 && n.Row(0) > 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the claiming node's server ran no BACKUP within a minute")
}

func waitSealed(t *testing.T, ctx context.Context, s *bedSidecar, id string) (setmodel.Set, map[int]setmodel.ShardResult) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		got, results, err := s.coord.Status(ctx, "shop", id)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != setmodel.SetOpen {
			return got, results
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("set %s not sealed within 3 minutes", id)
	return setmodel.Set{}, nil
}

// TestSetShardDown: shard 3's only node is down (its server and its
// sidecar). The set is sealed partial at its deadline, saying no replica of
// shard 3 took it, with shards 1 and 2 backed up.
func TestSetShardDown(t *testing.T) {
	c := testbed.NewCluster(t, testbed.ClusterOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	sidecars := startSidecars(t, ctx, c, 15*time.Second)
	shopOnEveryNode(t, ctx, sidecars, func(shard int) int { return 100 * shard })
	sidecars[2].kill()
	c.Nodes[2].ClickHouse.Kill()
	set, results := createSet(t, ctx, sidecars[0], "r1")
	if set.State != setmodel.SetPartial || !strings.Contains(set.Reasons["shard-3"], "no replica of shard 3 took it") {
		t.Fatalf("set %s, reasons %v; want partial for shard 3", set.State, set.Reasons)
	}
	if len(set.Reasons) != 1 || results[1].State != setmodel.ShardSucceeded || results[2].State != setmodel.ShardSucceeded {
		t.Errorf("reasons %v, results %v; want shards 1 and 2 backed up", set.Reasons, results)
	}
}
