package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/clickvault/clickvault/sidecar/clickhouse"
	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/config"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// clusterCommands are the commands a cluster node runs: serve (requests
// over SQL and HTTP make sets) and init (the control tables). The others
// act on one server's chains and make no set, so a node refuses them
// rather than back a cluster up one node at a time.
var clusterCommands = []string{"serve", "init"}

// refuseOnCluster refuses a command a cluster node does not run.
func refuseOnCluster(cfg config.Config, command string) error {
	if cfg.Cluster.Name == "" || slices.Contains(clusterCommands, command) {
		return nil
	}
	return &usageError{fmt.Errorf("configuration: cluster.name = %q: on a cluster node %s is asked of `clickvault serve` "+
		"as a request (SQL: INSERT INTO clickvault.requests, or HTTP), which makes a set of every shard; "+
		"the CLI's %s acts on one server (docs/cluster.md)", cfg.Cluster.Name, command, command)}
}

// clusterNode is this sidecar's place in a cluster (cluster.name).
type clusterNode struct {
	name     string
	layout   coord.ClusterLayout
	position cluster.Position
}

// locateNode reads system.clusters and finds this node's shard and
// replica (or takes cluster.shard and cluster.replica).
func locateNode(ctx context.Context, cfg config.Config, db *clickhouse.Database) (*clusterNode, error) {
	if cfg.Cluster.Name == "" {
		return nil, nil
	}
	topo, err := readTopology(ctx, db, cfg.Cluster.Name)
	if err != nil {
		return nil, err
	}
	pos, err := cluster.Locate(topo, cluster.Override{Shard: cfg.Cluster.Shard, Replica: cfg.Cluster.Replica})
	if err != nil {
		return nil, fmt.Errorf("find this node in cluster %s: %w", cfg.Cluster.Name, err)
	}
	return &clusterNode{name: cfg.Cluster.Name, position: pos,
		layout: coord.ClusterLayout{Prefix: cfg.S3.Prefix, ClusterID: cfg.ClusterID()}}, nil
}

func readTopology(ctx context.Context, db *clickhouse.Database, name string) (cluster.Topology, error) {
	rows, err := db.ClusterRows(ctx, name)
	if err != nil {
		return cluster.Topology{}, err
	}
	return cluster.NewTopology(name, rows)
}

// sets makes the coordinator that works this node's shard of every set,
// and the runner's side of sets.
func (a *app) sets() (*cluster.Coordinator, control.SetBackups) {
	n := a.cluster
	exec := cluster.Checked{Executor: cluster.Engine{Service: a.service}, Allowed: a.mayBackUp}
	co := cluster.New(a.store, n.layout, n.name, cluster.Member{Holder: a.instance, Position: n.position}, exec,
		cluster.Options{ShardTimeout: a.cfg.ShardTimeout(), FullEvery: a.cfg.FullInterval()}, a.logger)
	return co, cluster.Requests{Coord: co,
		Topology: func(ctx context.Context) (cluster.Topology, error) { return readTopology(ctx, a.db, n.name) }}
}

// mayBackUp asks this node's grants whether user may back database up:
// the set's requester, checked on every node that backs up its shard.
// The sidecar's own scheduled sets are its own login's.
func (a *app) mayBackUp(ctx context.Context, user, database string) error {
	if user == a.cfg.ClickHouse.User {
		return nil
	}
	ok, err := a.db.Rights().Can(ctx, user, control.PrivBackup, database, "")
	if err != nil {
		return fmt.Errorf("check the grants of %s on this node: %w", user, err)
	}
	if !ok {
		return fmt.Errorf("%s may not BACKUP %s on this node (grants are each node's own)", user, database)
	}
	return nil
}
