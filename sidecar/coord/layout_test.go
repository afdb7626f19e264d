package coord_test

import (
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// TestLayoutKeys: every key of the bucket, byte for byte as
// docs/how-backups-work.md lists them (the layout is public: people, tools
// and older ClickVaults read it).
func TestLayoutKeys(t *testing.T) {
	l := coord.Layout{Prefix: "/cv/test/"}
	folder := l.Folder("shop", "full", "20260101T000000000Z")
	for _, tc := range []struct{ got, want string }{
		{l.DatabaseRoot("shop"), "cv/test/shop/"},
		{l.KindRoot("shop", "incremental"), "cv/test/shop/incremental/"},
		{l.LegacyKindRoot("full"), "cv/test/full/"},
		{folder, "cv/test/shop/full/20260101T000000000Z/"},
		{coord.MetaKey(folder), "cv/test/shop/full/20260101T000000000Z/.clickvault_meta.json"},
		{coord.BackupFileKey(folder), "cv/test/shop/full/20260101T000000000Z/.backup"},
		{coord.FileKey(folder, "data/shop/t/all_1_1_0.bin"), "cv/test/shop/full/20260101T000000000Z/data/shop/t/all_1_1_0.bin"},
		{coord.FolderName(folder), "20260101T000000000Z"},
		{l.LeaseKey("shop"), "cv/test/shop/.clickvault.lock"},
		{l.PinsRoot("shop"), "cv/test/shop/.clickvault_pins/"},
		{l.PinKey("shop", "p1"), "cv/test/shop/.clickvault_pins/p1.json"},
		{l.IndexKey("shop"), "cv/test/shop/.clickvault_catalog.json"},
		{l.CheckKey("shop"), "cv/test/shop/.clickvault_check.json"},
		{l.OwnerKey(), "cv/test/.clickvault/deployment.json"},
		{l.ProbeKey("u1"), "cv/test/.clickvault/probe/u1"},
		{l.ClaimKey("r1"), "cv/test/.clickvault/requests/r1.claim"},
		{l.HeartbeatsRoot(), "cv/test/.clickvault/sidecars/"},
		{l.HeartbeatKey("host/127.0.0.1:7480"), "cv/test/.clickvault/sidecars/host_127.0.0.1_7480.json"},
		{l.SlotKey(coord.BackupSchedule, "shop", 42), "cv/test/.clickvault/schedule/shop/42"},
		{l.SlotKey(coord.CheckSchedule, "shop", 42), "cv/test/.clickvault/schedule-check/shop/42"},
		{l.WorkRoot(), "cv/test/.clickvault/work/"},
		{l.WorkKey("op1"), "cv/test/.clickvault/work/op1.json"},
		{coord.WorkID(l.WorkKey("op1")), "op1"},
		{coord.Layout{}.LeaseKey("shop"), "shop/.clickvault.lock"},
	} {
		if tc.got != tc.want {
			t.Errorf("key %q, want %q", tc.got, tc.want)
		}
	}
}

// TestClusterLayoutKeys: every key of a cluster's layout, byte for byte as
// docs/cluster.md lists them.
func TestClusterLayoutKeys(t *testing.T) {
	l := coord.ClusterLayout{Prefix: "/cv/", ClusterID: "c1"}
	node := l.Node(2, 3)
	for _, tc := range []struct{ got, want string }{
		{l.Engine(2).LeaseKey("shop"), "cv/c1/shop/shard-2/.clickvault.lock"},
		{l.Engine(2).Folder("shop", "full", "n"), "cv/c1/shop/shard-2/full/n/"},
		{node.LeaseKey("shop"), "cv/c1/shop/shard-2/.clickvault.lock"},
		{node.ClaimKey("r1"), "cv/c1/.clickvault/requests/shard-2-replica-3/r1.claim"},
		{node.HeartbeatKey("h:1"), "cv/c1/.clickvault/sidecars/shard-2-replica-3/h_1.json"},
		{node.SlotKey(coord.BackupSchedule, "shop", 42), "cv/c1/.clickvault/schedule/shop/42"},
		{l.NodeLeaseKey("vault", 2, 3), "cv/c1/.clickvault/nodes/vault/shard-2-replica-3.lease"},
		{l.NodeLeaseKey("a/b c", 2, 3), "cv/c1/.clickvault/nodes/a%2Fb%20c/shard-2-replica-3.lease"},
		{l.ShardRoot("shop", 2), "cv/c1/shop/shard-2/"},
		{l.SetsRoot("shop"), "cv/c1/shop/sets/"},
		{l.OpenSetsKey("shop"), "cv/c1/shop/sets/open.json"},
		{l.SetRoot("shop", "s1"), "cv/c1/shop/sets/s1/"},
		{l.SetKey("shop", "s1"), "cv/c1/shop/sets/s1/set.json"},
		{l.ClaimKey("shop", "s1", 2), "cv/c1/shop/sets/s1/shard-2.claim"},
		{l.ResultKey("shop", "s1", 2), "cv/c1/shop/sets/s1/shard-2.json"},
		{l.FailedAttemptKey("shop", "s1", 2, 3), "cv/c1/shop/sets/s1/shard-2.failed-replica-3.json"},
		{l.ReplicaHealthKey("shop", "s1", 2, 3), "cv/c1/shop/sets/s1/shard-2.replica-3.json"},
		{l.SetOfRequestKey("shop", "r1"), "cv/c1/shop/set-requests/r1.json"},
		{l.RestoreKey("shop", "s1", "c2", "shop2", 0), "cv/c1/shop/sets/s1/restores/c2/shop2.json"},
		{l.RestoreKey("shop", "s1", "c2", "shop2", 2), "cv/c1/shop/sets/s1/restores/c2/shop2.shard-2.json"},
		{l.SourceRestoreKey("shop", "c0", "s1", "shop2", 0), "cv/c1/shop/restores/c0/s1/shop2.json"},
		{l.SourceRestoreKey("shop", "c0", "s1", "shop2", 2), "cv/c1/shop/restores/c0/s1/shop2.shard-2.json"},
	} {
		if tc.got != tc.want {
			t.Errorf("key %q, want %q", tc.got, tc.want)
		}
	}
}

// TestLayoutShardFolder: a shard's layout puts every key of a database's
// chains (backups, lease, pins, index, check record) in the shard's
// folder of the database; without a shard the keys are a single server's,
// unchanged.
func TestLayoutShardFolder(t *testing.T) {
	single := coord.Layout{Prefix: "p"}
	shard := coord.Layout{Prefix: "p/c1", Shard: "shard-2"}
	for _, tc := range []struct{ what, single, shard string }{
		{"DatabaseRoot", single.DatabaseRoot("db"), shard.DatabaseRoot("db")},
		{"KindRoot", single.KindRoot("db", "full"), shard.KindRoot("db", "full")},
		{"Folder", single.Folder("db", "incremental", "n"), shard.Folder("db", "incremental", "n")},
		{"LeaseKey", single.LeaseKey("db"), shard.LeaseKey("db")},
		{"PinsRoot", single.PinsRoot("db"), shard.PinsRoot("db")},
		{"PinKey", single.PinKey("db", "x"), shard.PinKey("db", "x")},
		{"IndexKey", single.IndexKey("db"), shard.IndexKey("db")},
		{"CheckKey", single.CheckKey("db"), shard.CheckKey("db")},
	} {
		rest, ok := strings.CutPrefix(tc.single, "p/db/")
		if !ok {
			t.Errorf("%s on a single server = %q, want it under p/db/", tc.what, tc.single)
			continue
		}
		if want := "p/c1/db/shard-2/" + rest; tc.shard != want {
			t.Errorf("%s of a shard = %q, want %q", tc.what, tc.shard, want)
		}
	}
	for _, tc := range []struct{ got, want string }{
		{single.Folder("db", "full", "20260101T000000000Z"), "p/db/full/20260101T000000000Z/"},
		{single.LeaseKey("db"), "p/db/.clickvault.lock"},
		{single.DatabaseRoot("db"), "p/db/"},
		{shard.OwnerKey(), "p/c1/.clickvault/deployment.json"},
	} {
		if tc.got != tc.want {
			t.Errorf("key %q, want %q", tc.got, tc.want)
		}
	}
}
