package setmodel_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/clickhouse"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

var update = flag.Bool("update", false, "write the system.clusters rows read from the test bed into testdata")

// capture is what one test cluster's nodes read from system.clusters.
type capture struct {
	Cluster  string        `json:"cluster"`
	Replicas []int         `json:"replicas"`
	Nodes    []nodeCapture `json:"nodes"`
}

type nodeCapture struct {
	Name    string         `json:"name"`
	Shard   int            `json:"shard"`
	Replica int            `json:"replica"`
	Rows    []setmodel.Row `json:"rows"`
}

// TestLocateOnTheTestBed: on three engine processes, each node's sidecar
// login (deploy/grants.sql's clickvault) reads system.clusters and finds
// its own shard and replica; with shard 1 on two nodes, each of them finds
// its own replica. With -update the rows become testdata for the unit
// tests (TestLocateFromCapturedRows).
func TestLocateOnTheTestBed(t *testing.T) {
	for name, replicas := range map[string][]int{"three_shards": {1, 1, 1}, "two_replicas": {2, 1}} {
		t.Run(name, func(t *testing.T) {
			c := testbed.NewCluster(t, testbed.ClusterOptions{Replicas: replicas})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			got := capture{Cluster: c.Name, Replicas: replicas}
			for _, n := range c.Nodes {
				rows := clusterRows(t, ctx, n, c.Name)
				got.Nodes = append(got.Nodes, nodeCapture{Name: n.Name, Shard: n.Shard, Replica: n.Replica, Rows: rows})
				topo, err := setmodel.NewTopology(c.Name, rows)
				if err != nil {
					t.Fatal(err)
				}
				pos, err := setmodel.Locate(topo, setmodel.Override{})
				if err != nil {
					t.Fatalf("%s: %v", n.Name, err)
				}
				if pos.Shard != n.Shard || pos.Replica != n.Replica {
					t.Errorf("%s located itself at shard %d replica %d, want %d/%d", n.Name, pos.Shard, pos.Replica, n.Shard, n.Replica)
				}
			}
			if *update {
				data, err := json.MarshalIndent(got, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join("testdata", "system_clusters", name+".json"), append(data, '\n'), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func clusterRows(t *testing.T, ctx context.Context, n *testbed.Node, name string) []setmodel.Row {
	t.Helper()
	db, err := clickhouse.Open(ctx, clickhouse.Config{Addr: n.ClickHouse.Addr, User: "clickvault",
		Password: n.ClickHouse.Password("clickvault")})
	if err != nil {
		t.Fatalf("%s: %v", n.Name, err)
	}
	defer db.Close()
	rows, err := db.ClusterRows(ctx, name)
	if err != nil {
		t.Fatalf("%s: %v", n.Name, err)
	}
	return rows
}
