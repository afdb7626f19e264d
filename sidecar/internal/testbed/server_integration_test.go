package testbed_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestServerEnforcesGrants: the test bed is ClickHouse's own server. A
// login runs as itself, a missing right is ClickHouse's ACCESS_DENIED, the
// HTTP interface serves the same users, and grants.sql's users exist with
// exactly their grants.
func TestServerEnforcesGrants(t *testing.T) {
	bed := testbed.New(t, testbed.Options{
		Users:  map[string]string{"carol": "carol-pw"},
		Grants: map[string][]string{"carol": {"INSERT ON notes.*"}},
	})
	ctx := testContext(t)
	admin := dial(t, ctx, bed)
	exec(t, ctx, admin, "CREATE DATABASE notes")
	exec(t, ctx, admin, "CREATE TABLE notes.n (s String, who String MATERIALIZED currentUser()) ENGINE = MergeTree ORDER BY s")
	carol, err := bed.ClickHouse.Dial(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = carol.Close() }()

	exec(t, ctx, carol, "INSERT INTO notes.n (s) VALUES ('hello')")
	if who := queryString(t, ctx, admin, "SELECT who FROM notes.n"); who != "carol" {
		t.Errorf("currentUser() of carol's insert = %q", who)
	}
	var col proto.ColStr
	err = carol.Do(ctx, ch.Query{Body: "SELECT s FROM notes.n", Result: proto.ResultColumn{Data: &col}})
	if !ch.IsErr(err, proto.ErrAccessDenied) {
		t.Errorf("carol without SELECT: want ACCESS_DENIED (497), got %v", err)
	}
	t.Run("http interface", func(t *testing.T) {
		if got := httpQuery(t, bed, "carol", "carol-pw", "SELECT currentUser()"); got != "carol\n" {
			t.Errorf("currentUser() over HTTP = %q", got)
		}
		if got := httpQuery(t, bed, "carol", "carol-pw", "SELECT s FROM notes.n"); !strings.Contains(got, "ACCESS_DENIED") {
			t.Errorf("SELECT without the grant over HTTP: %q", got)
		}
	})
	t.Run("the engine's own user can do nothing", func(t *testing.T) {
		got := httpQuery(t, bed, "default", "", "SELECT count() FROM notes.n")
		if !strings.Contains(got, "ACCESS_DENIED") {
			t.Errorf("default reading a table: %q", got)
		}
	})
	t.Run("grants.sql users have exactly its grants", func(t *testing.T) {
		for _, user := range []string{"clickvault", "analyst"} {
			c, err := bed.ClickHouse.Dial(ctx, user)
			if err != nil {
				t.Fatalf("%s cannot log in with grants.sql's password: %v", user, err)
			}
			_ = c.Close()
			n := queryUInt64(t, ctx, admin, "SELECT count() FROM system.grants WHERE user_name = '"+user+"'")
			if n == 0 {
				t.Errorf("%s has no grants on the server", user)
			}
		}
	})
}

func httpQuery(t *testing.T, bed *testbed.Bed, user, password, query string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+bed.ClickHouse.HTTPAddr+"/", strings.NewReader(query))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return string(body)
}
