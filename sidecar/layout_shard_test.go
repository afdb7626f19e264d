package sidecar_test

import (
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar"
)

// TestLayoutShardFolder: a shard's layout puts every key of a database's
// chains (backups, lease, pins, index, check record) in the shard's
// folder of the database; without a shard the keys are a single server's,
// unchanged.
func TestLayoutShardFolder(t *testing.T) {
	single := sidecar.Layout{Prefix: "p"}
	shard := sidecar.Layout{Prefix: "p/c1", Shard: "shard-2"}
	for _, tc := range []struct{ what, single, shard string }{
		{"DatabaseRoot", single.DatabaseRoot("db"), shard.DatabaseRoot("db")},
		{"KindRoot", single.KindRoot("db", sidecar.KindFull), shard.KindRoot("db", sidecar.KindFull)},
		{"Folder", single.Folder("db", sidecar.KindIncremental, "n"), shard.Folder("db", sidecar.KindIncremental, "n")},
		{"LockKey", single.LockKey("db"), shard.LockKey("db")},
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
		{single.Folder("db", sidecar.KindFull, "20260101T000000000Z"), "p/db/full/20260101T000000000Z/"},
		{single.LockKey("db"), "p/db/.clickvault.lock"},
		{single.DatabaseRoot("db"), "p/db/"},
		{shard.ControlKey("owner"), "p/c1/.clickvault/owner"},
	} {
		if tc.got != tc.want {
			t.Errorf("key %q, want %q", tc.got, tc.want)
		}
	}
}
