package control

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/internal/fakedb"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// policies is an Authorizer under which every user is restricted by a row
// policy on every table, or which fails.
type policies struct{ fail error }

func (p policies) Grants(context.Context, string) (Grants, error) {
	return GrantsFunc(func(Privilege, string, string) bool { return true }), p.fail
}

func (p policies) RowPolicies(_ context.Context, user, database string, _ []string) ([]string, error) {
	if p.fail != nil {
		return nil, p.fail
	}
	return []string{"only_mine ON " + database + ".orders"}, nil
}

// TestRowPoliciesRefuseOnlyARequestersRestore: a restore by a user a row
// policy restricts is refused naming it; a verify (into a scratch
// database nobody reads), the sidecar's own restore and a runner without
// grants to ask are not; an error reading the policies is an error, not
// an admission. (Written for the mutation run: docs/mutants.md.)
func TestRowPoliciesRefuseOnlyARequestersRestore(t *testing.T) {
	ctx := context.Background()
	restore := Job{Request: Request{Action: ActionRestore, Database: "shop", RequestedBy: "carol"}}
	s := &admission{base: &base{auth: policies{}}}
	if err := s.refuseRowPolicies(ctx, restore); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "only_mine ON shop.orders") {
		t.Errorf("carol's restore: %v, want a rejection naming the policy", err)
	}
	verify := restore
	verify.Action = ActionVerify
	operator := restore
	operator.Operator = true
	for name, j := range map[string]Job{"a verify": verify, "the sidecar's restore": operator} {
		if err := s.refuseRowPolicies(ctx, j); err != nil {
			t.Errorf("%s: %v, want it admitted", name, err)
		}
	}
	if err := (&admission{base: &base{}}).refuseRowPolicies(ctx, restore); err != nil {
		t.Errorf("no authorizer: %v", err)
	}
	broken := errors.New("policies unreadable")
	s.auth = policies{fail: broken}
	if err := s.refuseRowPolicies(ctx, restore); !errors.Is(err, broken) || errors.Is(err, ErrRejected) {
		t.Errorf("policies unreadable: %v, want that error", err)
	}
}

// TestCancelIsTheRequesters: only the request's requester, or the
// sidecar's own user, may cancel it; someone else's request and a missing
// one get the same answer; an error reading it is not an admission.
func TestCancelIsTheRequesters(t *testing.T) {
	ctx := context.Background()
	cp := &statusPlane{status: RequestStatus{ID: "r1", RequestedBy: "alice"}}
	s := &admission{base: &base{cp: cp}}
	cancel := func(by string, operator bool, id string) error {
		return s.admitCancel(ctx, Job{Request: Request{Action: ActionCancel, Backup: id, RequestedBy: by}, Operator: operator})
	}
	if err := cancel("alice", false, "r1"); err != nil {
		t.Errorf("alice cancels her request: %v", err)
	}
	if err := cancel("clickvault", true, "r1"); err != nil {
		t.Errorf("the sidecar cancels alice's request: %v", err)
	}
	other, missing := cancel("bob", false, "r1"), cancel("alice", false, "r2")
	if !errors.Is(other, ErrRejected) || !errors.Is(missing, ErrRejected) || strings.ReplaceAll(other.Error(), "r1", "r2") != missing.Error() {
		t.Errorf("bob's cancel of alice's request: %v; a missing one: %v; want one answer", other, missing)
	}
	cp.fail = errors.New("control plane down")
	if err := cancel("alice", false, "r1"); !errors.Is(err, cp.fail) {
		t.Errorf("status unreadable: %v, want that error", err)
	}
}

// statusPlane is a ControlPlane that knows one request's status.
type statusPlane struct {
	ControlPlane
	status RequestStatus
	fail   error
}

func (p *statusPlane) Status(_ context.Context, id string) (RequestStatus, error) {
	if p.fail != nil {
		return RequestStatus{}, p.fail
	}
	if id != p.status.ID {
		return RequestStatus{}, sidecar.ErrNotFound
	}
	return p.status, nil
}

// scratchGrants is an Authorizer for the verify scratch rule: whether the
// user reads the scratch databases and the source, the policies on the
// source, and which read fails.
type scratchGrants struct {
	scratch, source bool
	policies        []string
	failOn          string // "grants" or "policies"
	fail            error
}

func (g scratchGrants) Grants(context.Context, string) (Grants, error) {
	if g.failOn == "grants" {
		return nil, g.fail
	}
	return GrantsFunc(func(_ Privilege, database, _ string) bool {
		if database == scratchProbe {
			return g.scratch
		}
		return g.source
	}), nil
}

func (g scratchGrants) RowPolicies(context.Context, string, string, []string) ([]string, error) {
	if g.failOn == "policies" {
		return nil, g.fail
	}
	return g.policies, nil
}

// TestVerifyScratchReadableOnlyWhenTheSourceIs: a requester's verify is
// refused when they could read its scratch database but not all of the
// source (no SELECT, or a row policy), and runs otherwise; a restore, the
// sidecar's verify and a runner without grants are not asked; an error
// reading the grants is an error.
func TestVerifyScratchReadableOnlyWhenTheSourceIs(t *testing.T) {
	ctx := context.Background()
	verify := Job{Request: Request{Action: ActionVerify, Database: "shop", RequestedBy: "eve"}}
	broken := errors.New("grants unreadable")
	for _, c := range []struct {
		name string
		g    scratchGrants
		want string // "" admitted, else the rejection says it, or "error"
	}{
		{"scratch unreadable", scratchGrants{source: false}, ""},
		{"scratch and source readable", scratchGrants{scratch: true, source: true}, ""},
		{"source not theirs", scratchGrants{scratch: true}, "SELECT on database shop is not theirs"},
		{"a row policy", scratchGrants{scratch: true, source: true, policies: []string{"p1"}}, "row policy p1 restricts them on database shop"},
		{"grants unreadable", scratchGrants{failOn: "grants", fail: broken}, "error"},
		{"policies unreadable", scratchGrants{scratch: true, source: true, failOn: "policies", fail: broken}, "error"},
	} {
		s := &admission{base: &base{auth: c.g}}
		err := s.refuseReadableScratch(ctx, s.grantsOf("eve"), verify)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v, want it admitted", c.name, err)
		case c.want == "error" && (!errors.Is(err, broken) || errors.Is(err, ErrRejected)):
			t.Errorf("%s: %v, want the grants' error", c.name, err)
		case c.want != "" && c.want != "error" && (!errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want a rejection saying %q", c.name, err, c.want)
		}
	}
	readable := &admission{base: &base{auth: scratchGrants{scratch: true}}}
	restore, operator := verify, verify
	restore.Action, operator.Operator = ActionRestore, true
	for name, j := range map[string]Job{"a restore": restore, "the sidecar's verify": operator} {
		if err := readable.refuseReadableScratch(ctx, readable.grantsOf("eve"), j); err != nil {
			t.Errorf("%s: %v, want it not asked", name, err)
		}
	}
	if err := (&admission{base: &base{}}).refuseReadableScratch(ctx, (&base{}).grantsOf("eve"), verify); err != nil {
		t.Errorf("no authorizer: %v", err)
	}
}

// TestMissingTargetTakesCreateDatabase: a restore into a database that
// does not exist takes CREATE DATABASE, asked once admission has seen
// that it is missing; into one that exists it does not.
func TestMissingTargetTakesCreateDatabase(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	db := fakedb.New(store)
	db.Create("shop", map[string]uint64{"orders": 1})
	db.Create("old", nil)
	logger := slog.New(slog.DiscardHandler)
	grants := []string{"dave SELECT shop", "dave CREATE TABLE fresh", "dave INSERT fresh", "dave CREATE TABLE old", "dave INSERT old"}
	s := &admission{base: &base{svc: sidecar.NewService(store, db.Ports(), nil, unitLayout, sidecar.Options{}, logger),
		auth: grantList{grants: grants}, logger: logger}}
	restore := func(target string) error {
		_, err := s.admit(ctx, Job{Request: Request{Action: ActionRestore, Database: "shop", Target: target, RequestedBy: "dave"}})
		return err
	}
	if err := restore("fresh"); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "lacks CREATE DATABASE on database fresh") {
		t.Errorf("into a missing database: %v, want CREATE DATABASE asked", err)
	}
	if err := restore("old"); err == nil || strings.Contains(err.Error(), "lacks") {
		t.Errorf("into an existing database: %v, want no right missing (and no backup to restore)", err)
	}
	s.auth = grantList{grants: append(grants, "dave CREATE DATABASE fresh")}
	if err := restore("fresh"); err == nil || strings.Contains(err.Error(), "lacks") {
		t.Errorf("with CREATE DATABASE: %v, want no right missing (and no backup to restore)", err)
	}
}

// TestUnknownSourceIsRefused: a restore or verify naming a source that is
// no copy target is refused (the requester's mistake, answered at once,
// naming the targets there are), not failed as if the sidecar broke.
// (Written for the mutation run: docs/mutants.md.)
func TestUnknownSourceIsRefused(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	db := fakedb.New(store)
	db.Create("shop", map[string]uint64{"orders": 1})
	logger := slog.New(slog.DiscardHandler)
	s := &admission{base: &base{svc: sidecar.NewService(store, db.Ports(), nil, unitLayout, sidecar.Options{}, logger),
		auth: grantList{grants: []string{"dave SELECT shop", "dave BACKUP shop", "dave CREATE DATABASE again",
			"dave CREATE TABLE again", "dave INSERT again"}}, logger: logger}}
	for _, action := range []Action{ActionRestore, ActionVerify} {
		_, err := s.admit(ctx, Job{Request: Request{Action: action, Database: "shop", Target: "again",
			Source: "nowhere", RequestedBy: "dave"}})
		if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), `source: no copy target "nowhere" in the configuration (targets: none configured)`) {
			t.Errorf("%s from an unknown source: %v, want a rejection naming it", action, err)
		}
	}
}
