package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/config"
)

// TestClusterNodeRefusesBackup: on a cluster node (cluster.name) serve,
// init, restore and cleanup (of sets) run, and so do the commands that act
// on this node alone (check, verify, list and copy of its shard, status);
// backup, which would make one shard's backup outside any set, is refused
// (exit 2), saying to ask serve.
func TestClusterNodeRefusesBackup(t *testing.T) {
	single := config.Config{}
	node := config.Config{Cluster: config.Cluster{Name: "vault"}}
	for _, cmd := range []string{"backup", "restore", "verify", "check", "cleanup", "list", "status", "serve", "init", "copy"} {
		if err := refuseOnCluster(single, cmd); err != nil {
			t.Errorf("a single server's %s: %v", cmd, err)
		}
	}
	for _, cmd := range []string{"serve", "init", "restore", "cleanup", "check", "verify", "list", "copy", "status"} {
		if err := refuseOnCluster(node, cmd); err != nil {
			t.Errorf("a cluster node's %s: %v", cmd, err)
		}
	}
	err := refuseOnCluster(node, "backup")
	var usage *usageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "cluster.name") || !strings.Contains(err.Error(), "serve") {
		t.Errorf("a cluster node's backup: %v, want a usage error naming cluster.name and serve", err)
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

// TestSetRestoreRefusesAClusterIDNoFolderHas: `clickvault restore
// --from-cluster` refuses an id that is not one folder of the bucket
// (cluster.id's rule) as a usage error, before reading anything.
func TestSetRestoreRefusesAClusterIDNoFolderHas(t *testing.T) {
	for _, id := range []string{"../vault-eu", "vault/eu", ".clickvault", "-x"} {
		err := (&app{}).restoreSet(t.Context(), setRestoreFlags{database: "shop", mode: "data", fromCluster: id})
		var usage *usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), "--from-cluster") {
			t.Errorf("--from-cluster %q: %v, want a usage error naming --from-cluster", id, err)
		}
	}
}
