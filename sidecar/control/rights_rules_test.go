package control

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/model"
)

// rightsOf says a job's rights as "PRIVILEGE db" or "PRIVILEGE db.table".
func rightsOf(j Job) string {
	var out []string
	for _, n := range (&admission{base: &base{}}).rightsFor(j) {
		on := n.database
		if n.table != "" {
			on += "." + n.table
		}
		out = append(out, string(n.privilege)+" "+on)
	}
	return strings.Join(out, ", ")
}

// TestRightsForEachRequest: the exact rights each kind of request takes,
// so that no right is lost or asked on the wrong database or table.
// (Written for the mutation run: docs/mutants.md.)
func TestRightsForEachRequest(t *testing.T) {
	only, _ := model.NewTableSet([]string{"a", "b"}, nil)
	rs := []model.TableRestore{{Source: "a", Target: "a2"}, {Source: "b", Target: "b"}}
	for _, c := range []struct {
		name string
		job  Job
		want string
	}{
		{"auto backup", Job{Request: Request{Action: ActionBackup, Database: "shop"}}, "BACKUP shop"},
		{"incremental backup", Job{Request: Request{Action: ActionBackup, Database: "shop"}, Kind: model.KindIncremental}, "BACKUP shop"},
		{"full backup", Job{Request: Request{Action: ActionBackup, Database: "shop"}, Kind: model.KindFull}, "BACKUP shop, DROP TABLE shop"},
		{"full backup by the sidecar", Job{Request: Request{Action: ActionBackup, Database: "shop"}, Kind: model.KindFull, Operator: true}, "BACKUP shop"},
		{"backup of some tables, the configuration's set", Job{Request: Request{Action: ActionBackup, Database: "shop"}, Set: only},
			"BACKUP shop.a, BACKUP shop.b"},
		{"backup of its own tables", Job{Request: Request{Action: ActionBackup, Database: "shop"}, Set: only, OwnTableSet: true},
			"BACKUP shop.a, BACKUP shop.b, DROP TABLE shop"},
		{"cleanup", Job{Request: Request{Action: ActionCleanup, Database: "shop"}}, "BACKUP shop, DROP TABLE shop"},
		{"cleanup dry run", Job{Request: Request{Action: ActionCleanup, Database: "shop", DryRun: true}}, "BACKUP shop"},
		{"cleanup by the sidecar", Job{Request: Request{Action: ActionCleanup, Database: "shop"}, Operator: true}, "BACKUP shop"},
		{"verify", Job{Request: Request{Action: ActionVerify, Database: "shop"}, Set: only}, "BACKUP shop"},
		{"restore into a new database", Job{Request: Request{Action: ActionRestore, Database: "shop", Target: "copy"}},
			"SELECT shop, CREATE TABLE copy, INSERT copy, CREATE DATABASE copy"},
		{"restore into an existing database", Job{Request: Request{Action: ActionRestore, Database: "shop", Target: "copy"}, TargetExists: true},
			"SELECT shop, CREATE TABLE copy, INSERT copy"},
		{"schema restore", Job{Request: Request{Action: ActionRestore, Database: "shop", Target: "copy"}, TargetExists: true,
			RestoreMode: model.ModeSchema}, "SELECT shop, CREATE TABLE copy"},
		{"restore of tables", Job{Request: Request{Action: ActionRestore, Database: "shop", Target: "copy"}, TargetExists: true, Restores: rs},
			"SELECT shop.a, CREATE TABLE copy.a2, INSERT copy.a2, SELECT shop.b, CREATE TABLE copy.b, INSERT copy.b"},
		{"schema restore of tables", Job{Request: Request{Action: ActionRestore, Database: "shop", Target: "copy"}, Restores: rs[:1],
			RestoreMode: model.ModeSchema}, "SELECT shop.a, CREATE TABLE copy.a2, CREATE DATABASE copy"},
		{"replace of tables", Job{Request: Request{Action: ActionRestore, Database: "shop", Target: "shop"}, TargetExists: true,
			Restores: rs[1:], RestoreMode: model.ModeReplace}, "SELECT shop.b, CREATE TABLE shop.b, INSERT shop.b, DROP TABLE shop.b"},
		{"replace of partitions", Job{Request: Request{Action: ActionRestore, Database: "shop", Target: "shop", Partitions: []string{"1"}},
			TargetExists: true, Restores: rs[1:], RestoreMode: model.ModeReplace},
			"SELECT shop.b, CREATE TABLE shop.b, INSERT shop.b, ALTER DELETE shop.b"},
	} {
		if got := rightsOf(c.job); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

// grantList is an Authorizer from "user PRIVILEGE db[.table]" entries;
// fail makes every read an error.
type grantList struct {
	grants []string
	fail   error
}

func (g grantList) Grants(_ context.Context, user string) (Grants, error) {
	if g.fail != nil {
		return nil, g.fail
	}
	return GrantsFunc(func(p Privilege, database, table string) bool {
		on := database
		if table != "" {
			on += "." + table
		}
		for _, e := range g.grants {
			if e == user+" "+string(p)+" "+on || e == user+" "+string(p)+" "+database {
				return true
			}
		}
		return false
	}), nil
}

func (g grantList) RowPolicies(context.Context, string, string, []string) ([]string, error) {
	return nil, g.fail
}

// TestAuthorize: a request is admitted only with every right and on the
// allow-list; a missing right is a rejection naming it; an error reading
// the grants is not an admission.
func TestAuthorize(t *testing.T) {
	ctx := context.Background()
	backup := Job{Request: Request{Action: ActionBackup, Database: "shop", RequestedBy: "alice"}, Kind: model.KindFull}
	s := &admission{base: &base{auth: grantList{grants: []string{"alice BACKUP shop", "alice DROP TABLE shop", "bob BACKUP shop"}}}}
	if err := s.authorize(ctx, s.grantsOf("alice"), backup); err != nil {
		t.Fatalf("alice with both rights: %v", err)
	}
	bob := backup
	bob.RequestedBy = "bob"
	if err := s.authorize(ctx, s.grantsOf("bob"), bob); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "lacks DROP TABLE on database shop") {
		t.Errorf("bob without DROP TABLE: %v", err)
	}
	s.opts.AllowUsers = []string{"bob"}
	if err := s.authorize(ctx, s.grantsOf("alice"), backup); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "allow-list") {
		t.Errorf("alice off the allow-list: %v", err)
	}
	s.opts.AllowUsers = []string{"alice"}
	if err := s.authorize(ctx, s.grantsOf("alice"), backup); err != nil {
		t.Errorf("alice on the allow-list: %v", err)
	}
	broken := errors.New("grants unreadable")
	s.auth = grantList{fail: broken}
	if err := s.authorize(ctx, s.grantsOf("alice"), backup); !errors.Is(err, broken) || errors.Is(err, ErrRejected) {
		t.Errorf("grants unreadable: %v, want that error, not a rejection", err)
	}
}

// TestIncludePermitOnlyForARequestersInclude: only a requester's
// consumers = 'include' is checked against their grants: not another
// choice, not the sidecar's own, not a runner without grants to ask; an
// error reading the grants is an error, not a permit.
func TestIncludePermitOnlyForARequestersInclude(t *testing.T) {
	include := Job{Request: Request{Action: ActionRestore, RequestedBy: "alice"}, Consumers: model.ConsumersInclude}
	s := &admission{base: &base{auth: grantList{}}}
	if s.includePermit(include) == nil {
		t.Fatal("a requester's include is not checked")
	}
	for _, c := range []model.Consumers{model.ConsumersRefuse, model.ConsumersSkip} {
		j := include
		j.Consumers = c
		if s.includePermit(j) != nil {
			t.Errorf("consumers %q is checked", c)
		}
	}
	if (&admission{base: &base{}}).includePermit(include) != nil {
		t.Error("a runner without grants checks an include")
	}
	mv := "CREATE MATERIALIZED VIEW shop.mv_out TO prod.sink (`n` UInt64) AS SELECT id AS n FROM shop.orders"
	broken := errors.New("grants unreadable")
	s.auth = grantList{fail: broken}
	if err := s.includePermit(include)(context.Background(), includePlan(map[string]string{"mv_out": mv})); !errors.Is(err, broken) || errors.Is(err, ErrRejected) {
		t.Errorf("grants unreadable: %v, want that error", err)
	}
}
