package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/clickhouse"
	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/config"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// clusterCommands are the commands a cluster node runs: serve (requests
// over SQL and HTTP make sets), init (the control tables), restore (of a
// set, every node's serve running its own steps), cleanup (of whole
// sets), and on this node alone, as its requests do: check and verify of
// its shard (whose chains are a single server's), list of them, copy (its
// shard's backups, then the sets' records) and status (this server's
// operations). backup would make one shard's backup outside any set, so a
// node refuses it rather than back a cluster up one node at a time.
var clusterCommands = []string{"serve", "init", "restore", "cleanup", "check", "verify", "list", "copy", "status"}

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
	position setmodel.Position
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
	pos, err := setmodel.Locate(topo, setmodel.Override{Shard: cfg.Cluster.Shard, Replica: cfg.Cluster.Replica})
	if err != nil {
		return nil, fmt.Errorf("find this node in cluster %s: %w", cfg.Cluster.Name, err)
	}
	return &clusterNode{name: cfg.Cluster.Name, position: pos,
		layout: coord.ClusterLayout{Prefix: cfg.S3.Prefix, ClusterID: cfg.ClusterID()}}, nil
}

func readTopology(ctx context.Context, db *clickhouse.Database, name string) (setmodel.Topology, error) {
	rows, err := db.ClusterRows(ctx, name)
	if err != nil {
		return setmodel.Topology{}, err
	}
	return setmodel.NewTopology(name, rows)
}

// sets makes the coordinator that works this node's shard of every set
// (the fittest replica of a shard claims it, made current first) and runs
// its steps of sets' restores, and the runner's side of sets. recorded,
// when not nil, is told of each database whose set this node recorded a
// result of or sealed (serve's copy rounds follow); atOnce is how many
// databases' sets and restores the node steps at once (serve's
// backup.parallel_databases, capped by ClickHouse's backup_threads).
func (a *app) sets(recorded func(database string), atOnce int) (*cluster.Coordinator, cluster.Requests) {
	n := a.cluster
	replication := a.db.Replication()
	exec := cluster.Checked{Executor: cluster.Engine{Service: a.service, Replication: replication, SyncTimeout: a.cfg.SyncTimeout()},
		Allowed: a.mayBackUp}
	restorer := cluster.RestoreEngine{Service: a.service, Rights: a.mayRestore}
	if readers := a.copyReaders(); readers != nil {
		restorer.Copies = readers.Copy
	}
	co := cluster.New(a.store, n.layout, n.name, cluster.Member{Holder: a.instance, Position: n.position}, exec,
		cluster.Options{ShardTimeout: a.cfg.ShardTimeout(), FullEvery: a.cfg.FullInterval(), Replication: replication,
			Restorer: restorer, FaultPoint: faultPoint, Recorded: recorded,
			DatabasesAtOnce: atOnce}, a.logger)
	return co, cluster.Requests{Coord: co,
		Topology: func(ctx context.Context) (setmodel.Topology, error) { return readTopology(ctx, a.db, n.name) },
		Plan:     a.planShard, Chains: shardChains{a},
		Policy:           setPolicyOf(a.cfg.Retention),
		RequestRetention: a.cfg.RequestRetention(),
		Copies: func(ctx context.Context, name string) (coord.ObjectStore, string, error) {
			return copySetsSource(ctx, a, name)
		}}
}

// mayBackUp asks this node's grants whether the set's requester may back
// database up, checked on every node that backs up its shard: BACKUP, and
// DROP TABLE when the login asked for a full set (a new chain of every
// shard pushes the oldest out of retention, as on a single server). The
// sidecar's own requests (the schedule, HTTP, the CLI) are exempt by the
// set's operator flag, never by a login's name: the sidecars' logins may
// differ between nodes, and a requester named like another node's would
// pass unchecked there.
func (a *app) mayBackUp(ctx context.Context, who setmodel.Requester, database string) error {
	if who.Operator {
		return nil
	}
	needs := []control.Privilege{control.PrivBackup}
	if who.NewChain {
		needs = append(needs, control.PrivDropTable)
	}
	for _, p := range needs {
		ok, err := a.db.Rights().Can(ctx, who.Login, p, database, "")
		if err != nil {
			return fmt.Errorf("check the grants of %s on this node: %w", who.Login, err)
		}
		if !ok {
			return fmt.Errorf("%w: %s may not %s %s on this node (grants are each node's own)%s", cluster.ErrRejected,
				who.Login, p, database, newChainWhy(p))
		}
	}
	return nil
}

// newChainWhy says why a right beyond BACKUP is asked of a set's login.
func newChainWhy(p control.Privilege) string {
	if p == control.PrivDropTable {
		return ": a full set starts a new chain of every shard, pushing the oldest out of retention"
	}
	return ""
}

// mayRestore asks this node's grants whether user may restore database's
// backup into target here, as a restore on one server takes: SELECT on the
// source, CREATE TABLE (and INSERT for rows) on the target, CREATE
// DATABASE when it does not exist; and, for rows, no row policy of this
// node restricting what user reads of the source. The sidecar's own requests (the CLI,
// HTTP tokens) are exempt by the record's operator flag (mayBackUp).
func (a *app) mayRestore(ctx context.Context, who setmodel.Requester, database, target string, rows, createDatabase bool) error {
	if who.Operator {
		return nil
	}
	user := who.Login
	type need struct {
		priv control.Privilege
		db   string
	}
	needs := []need{{control.PrivSelect, database}, {control.PrivCreate, target}}
	if rows {
		needs = append(needs, need{control.PrivInsert, target})
	}
	if createDatabase {
		needs = append(needs, need{control.PrivCreateDatabase, target})
	}
	for _, n := range needs {
		ok, err := a.db.Rights().Can(ctx, user, n.priv, n.db, "")
		if err != nil {
			return fmt.Errorf("check the grants of %s on this node: %w", user, err)
		}
		if !ok {
			return fmt.Errorf("%s lacks %s on database %s on this node, which restoring %s into %s needs (grants are each node's own)",
				user, n.priv, n.db, database, target)
		}
	}
	if !rows {
		return nil
	}
	policies, err := a.db.Rights().RowPolicies(ctx, user, database, nil)
	if err != nil {
		return fmt.Errorf("check the row policies of %s on this node: %w", user, err)
	}
	if len(policies) > 0 {
		return fmt.Errorf("%s is restricted by row policy %s on database %s on this node; restoring its rows would copy every row, "+
			"so it is refused (row policies are each node's own)", user, strings.Join(policies, ", "), database)
	}
	return nil
}

// shardService is the engine on shard n's chains: this node's own service
// for its shard.
func (a *app) shardService(n int) *sidecar.Service {
	if n == a.cluster.position.Shard {
		return a.service
	}
	return a.serviceOf(a.cluster.layout.Engine(n))
}

// planShard is the engine's plan of restoring shard n's backup into
// target, read from the backup's own definitions: in this cluster's chains
// of the shard, or those of the cluster whose set is restored (clusterID).
func (a *app) planShard(ctx context.Context, from cluster.Source, database string, n int, backup, target string, consumers model.Consumers) (model.RestorePlan, error) {
	var svc *sidecar.Service
	switch {
	case from.Copy != "":
		var err error
		if svc, err = copyShardService(ctx, a, from.Copy, n); err != nil {
			return model.RestorePlan{}, err
		}
	case from.ClusterID == a.cluster.layout.ClusterID:
		svc = a.shardService(n)
	default:
		svc = a.serviceOf(a.cluster.layout.WithID(from.ClusterID).Engine(n))
	}
	cat, err := svc.Catalog(ctx, database)
	if err != nil {
		return model.RestorePlan{}, err
	}
	b, ok := cat.Find(backup)
	if !ok {
		return model.RestorePlan{}, fmt.Errorf("shard %d's chains of %s have no backup %s", n, database, backup)
	}
	return svc.Plan(ctx, cat, b, sidecar.RestoreRequest{Database: database, Target: target, Consumers: consumers})
}

// shardChains are every shard's chains, for the retention of sets.
type shardChains struct{ a *app }

func (c shardChains) Links(ctx context.Context, database string, n int) ([]setmodel.Link, error) {
	return linksOf(ctx, c.a.shardService(n), database)
}

// linksOf are the backups of database in svc's chains, each with its base.
func linksOf(ctx context.Context, svc *sidecar.Service, database string) ([]setmodel.Link, error) {
	cat, err := svc.Catalog(ctx, database)
	if err != nil {
		return nil, err
	}
	var links []setmodel.Link
	for _, b := range cat.All() {
		links = append(links, setmodel.Link{Name: b.Name, Base: b.Base})
	}
	return links, nil
}

func (c shardChains) Delete(ctx context.Context, database string, n int, names []string) ([]string, error) {
	return c.a.shardService(n).DeleteBackups(ctx, database, names)
}
