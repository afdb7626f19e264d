package config

import (
	"strings"
	"testing"
	"time"
)

// TestClusterKeys: [cluster] and its environment variables; a single
// server (no cluster.name) has no cluster id; the id defaults to the name.
func TestClusterKeys(t *testing.T) {
	single, err := Load(writeConfig(t, minimal), false, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if single.ClusterID() != "" || single.ShardTimeout() != 6*time.Hour || single.SyncTimeout() != 5*time.Minute {
		t.Errorf("a single server: cluster id %q, shard timeout %s", single.ClusterID(), single.ShardTimeout())
	}
	cfg, err := Load(writeConfig(t, minimal+"[cluster]\nname = \"vault\"\nshard_timeout = \"2h\"\nsync_timeout = \"90s\"\n"), false, func() []string {
		return []string{"CLICKVAULT_CLUSTER_SHARD=2", "CLICKVAULT_CLUSTER_REPLICA=1", "CLICKVAULT_CLUSTER_ID=prod-eu"}
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cluster.Name != "vault" || cfg.ClusterID() != "prod-eu" || cfg.Cluster.Shard != 2 || cfg.Cluster.Replica != 1 ||
		cfg.ShardTimeout() != 2*time.Hour || cfg.SyncTimeout() != 90*time.Second {
		t.Errorf("cluster %+v, id %q", cfg.Cluster, cfg.ClusterID())
	}
	named, err := Load(writeConfig(t, minimal+"[cluster]\nname = \"vault\"\n"), false, noEnv)
	if err != nil || named.ClusterID() != "vault" {
		t.Errorf("cluster id without cluster.id: %q, %v", named.ClusterID(), err)
	}
}

// TestClusterKeysRefused: each bad value is refused naming its key.
func TestClusterKeysRefused(t *testing.T) {
	for _, tc := range []struct{ body, key string }{
		{"id = \"x\"", "cluster.id: needs cluster.name"},
		{"shard = 2", "cluster.shard: needs cluster.name"},
		{"name = \"a b\"", "cluster.name: must be a cluster name"},
		{"name = \"vault\"\nid = \"../other\"", "cluster.id: must be"},
		{"name = \"vault\"\nid = \".clickvault\"", "cluster.id: must be"},
		{"name = \"_vault\"", "cluster.id: is needed"},
		{"name = \"vault\"\nreplica = 2", "cluster.replica: needs cluster.shard too"},
		{"name = \"vault\"\nshard = -1", "cluster.shard: must be a shard number"},
		{"name = \"vault\"\nshard_timeout = \"0s\"", "cluster.shard_timeout: must be a positive duration"},
		{"name = \"vault\"\nshard_timeout = \"soon\"", "cluster.shard_timeout: must be a positive duration"},
		{"name = \"vault\"\nsync_timeout = \"500ms\"", "cluster.sync_timeout: must be a duration of a second or more"},
		{"name = \"vault\"\nshards = 3", "cluster.shards: unknown key"},
		{"name = \"vault\"\n[retention]\nkeep_daily = 7", "retention.keep_daily: is a single server's rule"},
		{"name = \"vault\"\n[retention]\nmin_age = \"24h\"", "retention.min_age: is a single server's rule"},
	} {
		_, err := Load(writeConfig(t, minimal+"[cluster]\n"+tc.body+"\n"), false, noEnv)
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%q: %v, want %q", tc.body, err, tc.key)
		}
	}
}
