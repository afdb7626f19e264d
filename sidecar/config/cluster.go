package config

import (
	"regexp"
	"time"

	"github.com/clickvault/clickvault/sidecar/model"
)

// Cluster places this node in a ClickHouse cluster (remote_servers): each
// shard is backed up by the sidecar of one of its replicas, and a set
// holds one backup per shard. No name: a single server, as before.
type Cluster struct {
	// Name is the cluster's name in system.clusters.
	Name string `koanf:"name"`
	// ID names the cluster in the bucket: {prefix}/{id}/{database}/…
	// ("" = the name). Every node of the cluster must have the same.
	ID string `koanf:"id"`
	// Shard and Replica say where this node is when system.clusters
	// cannot (0 = its is_local row).
	Shard   int `koanf:"shard"`
	Replica int `koanf:"replica"`
	// ShardTimeout is how long a set waits for its shards before it is
	// sealed partial.
	ShardTimeout string `koanf:"shard_timeout"`
	// SyncTimeout bounds each SYSTEM SYNC REPLICA the replica that backs a
	// shard up runs first (its receive_timeout).
	SyncTimeout string `koanf:"sync_timeout"`
}

// clusterNameRe is a remote_servers cluster name: an XML element name as
// people write them.
var clusterNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,127}$`)

// ClusterID is the cluster's name in the bucket ("" on a single server).
func (c Config) ClusterID() string {
	if c.Cluster.Name == "" {
		return ""
	}
	if c.Cluster.ID != "" {
		return c.Cluster.ID
	}
	return c.Cluster.Name
}

// SyncTimeout is cluster.sync_timeout as a duration.
func (c Config) SyncTimeout() time.Duration {
	d, _ := time.ParseDuration(c.Cluster.SyncTimeout)
	return d
}

// ShardTimeout is cluster.shard_timeout as a duration.
func (c Config) ShardTimeout() time.Duration {
	d, _ := time.ParseDuration(c.Cluster.ShardTimeout)
	return d
}

func (c Config) validateCluster(add addFunc) {
	cl := c.Cluster
	if cl.Name == "" {
		for key, set := range map[string]bool{"cluster.id": cl.ID != "", "cluster.shard": cl.Shard != 0, "cluster.replica": cl.Replica != 0} {
			if set {
				add(key, "needs cluster.name (the cluster in system.clusters); without it this is a single server")
			}
		}
		return
	}
	if !clusterNameRe.MatchString(cl.Name) {
		add("cluster.name", "must be a cluster name of remote_servers (letters, digits, _ . -), got %q", cl.Name)
	}
	if cl.ID != "" && !model.IsClusterID(cl.ID) {
		add("cluster.id", "must be %s, got %q", model.ClusterIDRule, cl.ID)
	} else if cl.ID == "" && !model.IsClusterID(cl.Name) {
		add("cluster.id", "is needed: cluster.name %q cannot name a folder of the bucket", cl.Name)
	}
	if cl.Shard < 0 {
		add("cluster.shard", "must be a shard number (1, 2, …) or 0 for system.clusters' is_local row, got %d", cl.Shard)
	}
	if cl.Replica < 0 {
		add("cluster.replica", "must be a replica number (1, 2, …) or 0, got %d", cl.Replica)
	} else if cl.Replica > 0 && cl.Shard == 0 {
		add("cluster.replica", "needs cluster.shard too")
	}
	if d, err := time.ParseDuration(cl.ShardTimeout); err != nil || d <= 0 {
		add("cluster.shard_timeout", "must be a positive duration such as \"6h\", got %q", cl.ShardTimeout)
	}
	if d, err := time.ParseDuration(cl.SyncTimeout); err != nil || d < time.Second {
		add("cluster.sync_timeout", "must be a duration of a second or more such as \"5m\", got %q", cl.SyncTimeout)
	}
	refuseSingleServerRetention(add, "retention", c.Retention)
	for _, t := range c.Copy {
		if t.Retention != nil {
			refuseSingleServerRetention(add, "copy."+t.Name+".retention", *t.Retention)
		}
	}
}

// refuseSingleServerRetention refuses, on a cluster node, the retention
// keys sets do not read: sets are kept by keep_full_backups and keep_days
// alone (docs/cluster.md#retention-of-sets), and a calendar rule or
// min_age set there would be ignored without a word.
func refuseSingleServerRetention(add addFunc, key string, r Retention) {
	for _, k := range []struct {
		name string
		set  bool
	}{{"keep_daily", r.KeepDaily != 0}, {"keep_weekly", r.KeepWeekly != 0}, {"keep_monthly", r.KeepMonthly != 0},
		{"keep_yearly", r.KeepYearly != 0}, {"min_age", r.MinAge != ""}} {
		if k.set {
			add(key+"."+k.name, "is a single server's rule: on a cluster node sets are kept by keep_full_backups and keep_days alone; leave it out")
		}
	}
}
