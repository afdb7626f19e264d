package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/cluster"
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
		err := shopNode().restoreSet(t.Context(), setRestoreFlags{database: "shop", mode: "data", shard: shard})
		var usage *usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), "--shard") {
			t.Errorf("--shard %d: %v, want a usage error naming --shard", shard, err)
		}
	}
}

// TestSetRestoreRefusesAnInvalidClusterID: `clickvault restore
// --from-cluster` refuses an id that cannot be one folder of the bucket
// (cluster.id's rule) as a usage error, before reading anything (the
// app here has no server: a read would panic).
func TestSetRestoreRefusesAnInvalidClusterID(t *testing.T) {
	for _, id := range []string{"../vault-eu", "vault/eu", ".clickvault", "-x"} {
		err := shopNode().restoreSet(t.Context(), setRestoreFlags{database: "shop", mode: "data", fromCluster: id})
		var usage *usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), "--from-cluster") {
			t.Errorf("--from-cluster %q: %v, want a usage error naming --from-cluster", id, err)
		}
	}
}

// TestCopyLagCountsStaleSets: on a cluster node a copy round's lag is its
// shard's newest backup not copied, or a stale set (sealed over an hour
// ago, not whole at the target) when that is newer; neither: zero.
func TestCopyLagCountsStaleSets(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	for _, tc := range []struct {
		pending, stale, want time.Time
	}{
		{want: time.Time{}},
		{stale: t0, want: t0},
		{pending: t0, stale: t1, want: t1},
		{pending: t1, stale: t0, want: t1},
	} {
		got := withStaleSets(sidecar.CopyReport{NewestPending: tc.pending}, cluster.SetCopyReport{NewestStale: tc.stale})
		if !got.NewestPending.Equal(tc.want) {
			t.Errorf("backup pending since %v, stale set since %v: lag from %v, want %v", tc.pending, tc.stale, got.NewestPending, tc.want)
		}
	}
}

// shopNode is an app of a cluster node backing shop up, with no server:
// a test of what it refuses before reading anything.
func shopNode() *app {
	return &app{cfg: config.Config{ClickHouse: config.ClickHouse{Database: "shop"}, Cluster: config.Cluster{Name: "vault"}}}
}

// TestSetRestoreRefusesADatabaseNoNodeSteps: `clickvault restore` on a
// cluster node refuses a database outside databases (whose restores no
// node would step) as a usage error naming it.
func TestSetRestoreRefusesADatabaseNoNodeSteps(t *testing.T) {
	err := shopNode().restoreSet(t.Context(), setRestoreFlags{database: "other", mode: "data"})
	var usage *usageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "--database other") {
		t.Errorf("--database other: %v, want a usage error naming it", err)
	}
}

// TestSetRestoreRefusesACopyItCannotRead: `clickvault restore --from` on a
// cluster node refuses a copy target the node does not have, and --from
// with --from-cluster, as usage errors naming the flags.
func TestSetRestoreRefusesACopyItCannotRead(t *testing.T) {
	for _, c := range []struct {
		f    setRestoreFlags
		says string
	}{{setRestoreFlags{fromCopy: "dr"}, "--from: "}, {setRestoreFlags{fromCopy: "dr", fromCluster: "vault-eu"}, "not both"}} {
		f, says := c.f, c.says
		f.database, f.mode = "shop", "data"
		err := shopNode().restoreSet(t.Context(), f)
		var usage *usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), says) {
			t.Errorf("%+v: %v, want a usage error saying %q", f, err, says)
		}
	}
}
