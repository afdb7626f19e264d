package testbed_test

import (
	"context"
	"testing"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestUsersAndGrants: the test bed's users have real grants in
// system.grants, and a MATERIALIZED currentUser() column records the user
// who inserted, both for inline VALUES and for data blocks.
func TestUsersAndGrants(t *testing.T) {
	bed := testbed.New(t, testbed.Options{
		Users:  map[string]string{"alice": "a-pass"},
		Grants: map[string][]string{"alice": {"INSERT ON audit.*", "BACKUP ON shop.*"}},
	})
	ctx := testContext(t)
	admin := dial(t, ctx, bed)
	exec(t, ctx, admin, "CREATE DATABASE audit")
	exec(t, ctx, admin, `CREATE TABLE audit.events (what String, who String MATERIALIZED currentUser())
		ENGINE = MergeTree ORDER BY what`)
	alice, err := bed.ClickHouse.Dial(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = alice.Close() }()
	exec(t, ctx, alice, "INSERT INTO audit.events (what) VALUES ('inline-1'), ('inline-2')")
	var what proto.ColStr
	what.Append("block")
	if err := alice.Do(ctx, ch.Query{Body: "INSERT INTO audit.events (what) VALUES", Input: proto.Input{{Name: "what", Data: &what}}}); err != nil {
		t.Fatal(err)
	}
	exec(t, ctx, admin, "INSERT INTO audit.events (what) VALUES ('by-admin')")
	got := map[string]string{}
	var w, who proto.ColStr
	err = admin.Do(ctx, ch.Query{Body: "SELECT what, who FROM audit.events", Result: proto.Results{{Name: "what", Data: &w}, {Name: "who", Data: &who}},
		OnResult: func(ctx context.Context, _ proto.Block) error {
			for i := 0; i < w.Rows(); i++ {
				got[w.Row(i)] = who.Row(i)
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"inline-1": "alice", "inline-2": "alice", "block": "alice", "by-admin": "admin"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("row %s: who = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	n := queryUInt64(t, ctx, admin, "SELECT count() FROM system.grants WHERE user_name = 'alice' AND access_type = 'BACKUP' AND database = 'shop'")
	if n != 1 {
		t.Fatalf("alice's BACKUP grant is not in system.grants (%d rows)", n)
	}
}
