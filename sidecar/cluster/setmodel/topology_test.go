package setmodel_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
)

// readCapture reads rows TestLocateOnTheTestBed captured from the test
// bed's engines (-update writes them).
func readCapture(t *testing.T, name string) capture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "system_clusters", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var c capture
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLocateFromCapturedRows: each node of the captured clusters finds its
// own shard and replica in the rows it read, and its topology lists every
// shard with its replicas in order.
func TestLocateFromCapturedRows(t *testing.T) {
	for _, name := range []string{"three_shards", "two_replicas"} {
		c := readCapture(t, name)
		for _, n := range c.Nodes {
			rows := slices.Clone(n.Rows)
			slices.Reverse(rows) // the order rows come in does not matter
			topo, err := setmodel.NewTopology(c.Cluster, rows)
			if err != nil {
				t.Fatal(err)
			}
			if len(topo.Shards) != len(c.Replicas) {
				t.Fatalf("%s %s: %d shards, want %d", name, n.Name, len(topo.Shards), len(c.Replicas))
			}
			for i, s := range topo.Shards {
				if s.Num != i+1 || len(s.Replicas) != c.Replicas[i] || s.Replicas[0].Num != 1 {
					t.Errorf("%s %s: shard %+v, want shard %d with %d replicas in order", name, n.Name, s, i+1, c.Replicas[i])
				}
			}
			pos, err := setmodel.Locate(topo, setmodel.Override{})
			if err != nil {
				t.Fatalf("%s %s: %v", name, n.Name, err)
			}
			if pos.Shard != n.Shard || pos.Replica != n.Replica {
				t.Errorf("%s %s: at shard %d replica %d, want %d/%d", name, n.Name, pos.Shard, pos.Replica, n.Shard, n.Replica)
			}
		}
	}
	if _, err := setmodel.NewTopology("other", readCapture(t, "three_shards").Nodes[0].Rows); !errors.Is(err, setmodel.ErrNoCluster) {
		t.Errorf("a cluster system.clusters does not list: %v", err)
	}
}

// TestLocateOverride: the config's cluster.shard picks the local replica
// of that shard; cluster.shard and cluster.replica together are trusted
// even where is_local says no; a shard or replica the cluster lacks, or a
// replica without a shard, is refused naming the key.
func TestLocateOverride(t *testing.T) {
	c := readCapture(t, "two_replicas") // node1: shard 1 replica 1
	topo, err := setmodel.NewTopology(c.Cluster, c.Nodes[0].Rows)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		o             setmodel.Override
		shard, replic int
		err           string
	}{
		{o: setmodel.Override{Shard: 1}, shard: 1, replic: 1},
		{o: setmodel.Override{Shard: 2, Replica: 1}, shard: 2, replic: 1},
		{o: setmodel.Override{Shard: 2}, err: "no replica of shard 2 of cluster vault is this server (is_local): set cluster.replica"},
		{o: setmodel.Override{Replica: 1}, err: "cluster.replica = 1 needs cluster.shard too"},
		{o: setmodel.Override{Shard: 3}, err: "cluster.shard = 3, but cluster vault has shards [1 2]"},
		{o: setmodel.Override{Shard: 1, Replica: 3}, err: "cluster.replica = 3, but shard 1 of cluster vault has 2 replicas"},
	} {
		pos, err := setmodel.Locate(topo, tc.o)
		if tc.err != "" {
			if !errors.Is(err, setmodel.ErrNotLocated) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%+v: %v, want %q", tc.o, err, tc.err)
			}
			continue
		}
		if err != nil || pos.Shard != tc.shard || pos.Replica != tc.replic {
			t.Errorf("%+v: %+v, %v; want shard %d replica %d", tc.o, pos, err, tc.shard, tc.replic)
		}
	}
}

// TestLocateNeedsTheConfig: rows edited from the captured ones, for what
// the test bed cannot show. A node is_local on no row (its address is not
// its own, as behind NAT) or on two (a cluster that names one server
// twice) is told to set cluster.shard and cluster.replica, naming the rows.
func TestLocateNeedsTheConfig(t *testing.T) {
	rows := readCapture(t, "three_shards").Nodes[1].Rows // node2, shard 2
	none := slices.Clone(rows)
	for i := range none {
		none[i].IsLocal = false
	}
	two := slices.Clone(rows)
	two[2].IsLocal = true
	for _, tc := range []struct {
		name string
		rows []setmodel.Row
		want string
	}{
		{"no local row", none, "is_local = 0 on every row of system.clusters): set cluster.shard and cluster.replica"},
		{"two local rows", two, "this server is is_local on 2 rows of cluster vault: shard 2 replica 1"},
	} {
		topo, err := setmodel.NewTopology("vault", tc.rows)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := setmodel.Locate(topo, setmodel.Override{}); !errors.Is(err, setmodel.ErrNotLocated) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if pos, err := setmodel.Locate(topo, setmodel.Override{Shard: 2, Replica: 1}); err != nil || pos.Shard != 2 {
			t.Errorf("%s with the config's shard and replica: %+v, %v", tc.name, pos, err)
		}
	}
}
