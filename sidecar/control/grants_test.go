package control

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/internal/fakedb"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
	"github.com/clickvault/clickvault/sidecar/model"
)

// countingAuth is a grantList that counts its reads of the grants.
type countingAuth struct {
	grantList
	reads int
}

func (c *countingAuth) Grants(ctx context.Context, user string) (Grants, error) {
	c.reads++
	return c.grantList.Grants(ctx, user)
}

// TestGrantsReadOncePerCheck: every right one admission asks (four for a
// full backup of three tables, three for a verify, the CREATE DATABASE a
// restore into a missing target takes after the rest) and every outside
// table an include's permit asks about are answered from one read of the
// requester's grants, not one read per right.
func TestGrantsReadOncePerCheck(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	db := fakedb.New(store)
	db.Create("shop", map[string]uint64{"a": 1, "b": 1, "c": 1})
	logger := slog.New(slog.DiscardHandler)
	auth := &countingAuth{grantList: grantList{grants: []string{"alice BACKUP shop.a", "alice BACKUP shop.b", "alice BACKUP shop.c",
		"alice DROP TABLE shop", "alice BACKUP shop", "alice SELECT shop", "alice SELECT " + scratchProbe, "alice CREATE TABLE fresh", "alice INSERT fresh",
		"alice INSERT prod.sink", "alice SELECT prod.sink"}}}
	s := &admission{base: &base{svc: sidecar.NewService(store, db.Ports(), nil, unitLayout, sidecar.Options{}, logger),
		auth: auth, logger: logger}}
	for _, c := range []struct {
		name string
		job  Job
	}{
		{"a full backup of three tables", Job{Request: Request{Action: ActionBackup, Database: "shop", RequestedBy: "alice"},
			Kind: model.KindFull, Set: model.TableSet{Include: []string{"a", "b", "c"}}}},
		{"a verify", Job{Request: Request{Action: ActionVerify, Database: "shop", RequestedBy: "alice"}}},
		{"a restore into a missing target", Job{Request: Request{Action: ActionRestore, Database: "shop", Target: "fresh",
			RequestedBy: "alice"}}},
	} {
		auth.reads = 0
		// What follows the rights (the database, the backup) may refuse:
		// only the rights are looked at here.
		_, err := s.admit(ctx, c.job)
		missing := err != nil && strings.Contains(err.Error(), "lacks")
		if wantMissing := c.job.Action == ActionRestore; missing != wantMissing ||
			wantMissing && !strings.Contains(err.Error(), "lacks CREATE DATABASE on database fresh") {
			t.Errorf("%s: %v", c.name, err)
		}
		if auth.reads != 1 {
			t.Errorf("%s: the grants were read %d times, want once for all its rights", c.name, auth.reads)
		}
	}
	auth.reads = 0
	include := Job{Request: Request{Action: ActionRestore, RequestedBy: "alice"}, Consumers: model.ConsumersInclude}
	plan := includePlan(map[string]string{
		"mv_out": "CREATE MATERIALIZED VIEW shop.mv_out TO prod.sink (`n` UInt64) AS SELECT id AS n FROM shop.orders",
		"v_out":  "CREATE VIEW shop.v_out (`n` UInt64) AS SELECT n FROM prod.sink"})
	if err := s.includePermit(include)(ctx, plan); err != nil || auth.reads != 1 {
		t.Errorf("an include's permit of two outside tables: %v, read the grants %d times, want once", err, auth.reads)
	}
}

// TestKeptGrantsRefuseButNeverGrant: grants read for one check refuse a
// right for grantsKept without being read again; a yes from them is read
// again, so a revoke counts at once; past grantsKept they are read again.
func TestKeptGrantsRefuseButNeverGrant(t *testing.T) {
	ctx := context.Background()
	auth := &countingAuth{grantList: grantList{grants: []string{"alice BACKUP shop"}}}
	b := &base{auth: auth, kept: newKeptGrants()}
	ask := func(database string) bool {
		t.Helper()
		ok, err := b.grantsOf("alice").can(ctx, PrivBackup, database, "")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	first := ask("hr")
	if second := ask("hr"); first || second || auth.reads != 1 {
		t.Errorf("two checks of a right alice lacks: read the grants %d times, want once (the second refused from the first's)", auth.reads)
	}
	auth.grants = nil // BACKUP on shop revoked
	if ask("shop") || auth.reads != 2 {
		t.Errorf("a right revoked: granted from kept grants, or not read again (%d reads, want 2)", auth.reads)
	}
	b.kept.users["alice"] = kept{grants: b.kept.users["alice"].grants, at: time.Now().Add(-grantsKept)}
	if ask("hr") || auth.reads != 3 {
		t.Errorf("grants kept %s: %d reads, want them read again (3)", grantsKept, auth.reads)
	}
}

// TestGrantsKeptForASecond: grants read at t refuse until just before
// t+grantsKept, and from then on are read again.
func TestGrantsKeptForASecond(t *testing.T) {
	k := newKeptGrants()
	at := time.Unix(1_000_000, 0)
	k.put("alice", nil, at)
	if _, ok := k.get("alice", at.Add(grantsKept-time.Nanosecond), grantsKept); !ok {
		t.Error("grants read a moment less than grantsKept ago are not kept")
	}
	if _, ok := k.get("alice", at.Add(grantsKept), grantsKept); ok {
		t.Error("grants read grantsKept ago are still kept")
	}
	if _, ok := k.get("bob", at, grantsKept); ok {
		t.Error("grants of a login never read are kept")
	}
}

// TestOperatorGrantsKeptBothWays: the sidecar's own grants, read for its
// operator's request, answer its next operator's requests for 10 s
// (operatorGrantsKept) without being read again, yes as well as no; a
// login's request by the same name (not the operator's) reads them again
// for a yes, and 10 s after a read they are read again.
func TestOperatorGrantsKeptBothWays(t *testing.T) {
	ctx := context.Background()
	auth := &countingAuth{grantList: grantList{grants: []string{"clickvault BACKUP shop"}}}
	now := time.Unix(1_000_000, 0)
	b := &base{auth: auth, kept: newKeptGrants(), opts: Options{OwnUser: "clickvault"}, now: func() time.Time { return now }}
	ask := func(operator bool, database string) bool {
		t.Helper()
		j := Job{Request: Request{Action: ActionBackup, Database: database, RequestedBy: "clickvault"}, Operator: operator}
		ok, err := b.grantsOfJob(j).can(ctx, PrivBackup, database, "")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !ask(true, "shop") || auth.reads != 1 {
		t.Fatalf("the operator's first request: %d reads", auth.reads)
	}
	now = now.Add(9 * time.Second) // within the 10 s the operator's are kept
	if !ask(true, "shop") || ask(true, "hr") || auth.reads != 1 {
		t.Errorf("the operator's requests 9 s later: %d reads, want the first's grants to answer yes and no", auth.reads)
	}
	if !ask(false, "shop") || auth.reads != 2 {
		t.Errorf("a login's request named like the sidecar: %d reads, want its yes read again (2)", auth.reads)
	}
	now = now.Add(10 * time.Second)
	if !ask(true, "shop") || auth.reads != 3 {
		t.Errorf("the operator's request 10 s after the last read: %d reads, want them read again (3)", auth.reads)
	}
}
