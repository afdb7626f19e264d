package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/config"
)

// TestClusterNodeRunsServeOnly: on a cluster node (cluster.name) serve,
// init, and restore and cleanup (of sets) run, and every command that acts
// on one server's chains is refused (exit 2), saying to ask serve, so a
// node never backs the cluster up one node at a time from the CLI.
func TestClusterNodeRunsServeOnly(t *testing.T) {
	single := config.Config{}
	node := config.Config{Cluster: config.Cluster{Name: "vault"}}
	for _, cmd := range []string{"backup", "restore", "verify", "check", "cleanup", "list", "status", "serve", "init"} {
		if err := refuseOnCluster(single, cmd); err != nil {
			t.Errorf("a single server's %s: %v", cmd, err)
		}
	}
	for _, cmd := range []string{"serve", "init", "restore", "cleanup"} {
		if err := refuseOnCluster(node, cmd); err != nil {
			t.Errorf("a cluster node's %s: %v", cmd, err)
		}
	}
	for _, cmd := range []string{"backup", "verify", "check", "list", "status"} {
		err := refuseOnCluster(node, cmd)
		var usage *usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), "cluster.name") || !strings.Contains(err.Error(), "serve") {
			t.Errorf("a cluster node's %s: %v, want a usage error naming cluster.name and serve", cmd, err)
		}
	}
}

// TestSetRestoreRefusesAShardNoSetHas: `clickvault restore --shard` on a
// cluster node refuses a shard no requests row could name (a UInt16 of 1
// to 65535, or 0 for every shard) as a usage error, before reading
// anything.
func TestSetRestoreRefusesAShardNoSetHas(t *testing.T) {
	for _, shard := range []int{-1, 65536} {
		err := (&app{}).restoreSet(t.Context(), setRestoreFlags{database: "shop", mode: "data", shard: shard})
		var usage *usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), "--shard") {
			t.Errorf("--shard %d: %v, want a usage error naming --shard", shard, err)
		}
	}
}
