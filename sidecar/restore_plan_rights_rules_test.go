package sidecar

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
	"github.com/clickvault/clickvault/sidecar/model"
)

// rightsDB is a Rights port whose user holds the rights named "ACCESS
// object"; it counts the questions and fails the ones named in fail.
type rightsDB struct {
	held  map[string]bool
	fail  map[string]error // by access
	asked map[string]int
}

func (rightsDB) OwnUser() string { return "clickvault" }

func (d rightsDB) HoldsGlobal(_ context.Context, access, object string) (bool, error) {
	d.asked[access]++
	return d.held[access+" "+object], d.fail[access]
}

func (d rightsDB) HoldsOnDatabase(_ context.Context, access, database string) (bool, error) {
	d.asked[access]++
	return d.held[access+" "+database], d.fail[access]
}

// viewPlan is a plan of views into shop_copy: one of admin's left out
// (first, so that the views after it are looked at too), one restored
// live, two restored stopped.
func viewPlan() model.RestorePlan {
	admins := model.Definition{Object: "view", Definer: "admin", SQLSecurity: "DEFINER"}
	return model.RestorePlan{Target: "shop_copy", Tables: []model.PlanEntry{
		{Table: "left", Action: model.PlanSkip, Def: admins},
		{Table: "live", Action: model.PlanRestore, Def: admins},
		{Table: "stopped", Action: model.PlanStopped, Def: model.Definition{Object: "materialized view", Refreshable: true}},
		{Table: "stopped2", Action: model.PlanStopped, Def: model.Definition{Object: "materialized view", Refreshable: true}},
	}}
}

func actions(p model.RestorePlan) string {
	var out []string
	for _, e := range p.Tables {
		out = append(out, e.Table+"="+e.Action)
	}
	return strings.Join(out, " ")
}

// TestRequireViewRights: a view the sidecar's user may not create (its
// definer) or stop (SYSTEM VIEWS on the target, asked once) is refused
// with the right named; what it may, and what is left out, are not; a
// server without a Rights port is not asked; an error is an error. (Written
// for the mutation run: docs/mutants.md.)
func TestRequireViewRights(t *testing.T) {
	ctx := context.Background()
	restorerOn := func(own OwnRights) *restorer {
		return NewService(memstore.New(), ClickHouse{Rights: own}, nil, coord.Layout{Prefix: "p"}, Options{}, slog.New(slog.DiscardHandler)).restorer
	}
	for _, c := range []struct {
		name, want string
		held       map[string]bool
	}{
		{"no rights", "left=skip live=refuse stopped=refuse stopped2=refuse", nil},
		{"SET DEFINER only", "left=skip live=restore stopped=refuse stopped2=refuse", map[string]bool{"SET DEFINER admin": true}},
		{"both", "left=skip live=restore stopped=restore stopped stopped2=restore stopped",
			map[string]bool{"SET DEFINER admin": true, "SYSTEM VIEWS shop_copy": true}},
	} {
		db := rightsDB{held: c.held, asked: map[string]int{}}
		p := viewPlan()
		if err := restorerOn(db).requireViewRights(ctx, &p); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := actions(p); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
		if db.asked[model.RightSystemViews] > 1 {
			t.Errorf("%s: SYSTEM VIEWS asked %d times, want once", c.name, db.asked[model.RightSystemViews])
		}
	}
	p := viewPlan()
	_ = restorerOn(rightsDB{asked: map[string]int{}}).requireViewRights(ctx, &p)
	if e := p.Tables[1]; !e.Rights || !strings.Contains(strings.Join(e.Reasons, "; "), "SET DEFINER ON admin") {
		t.Errorf("live: %+v, want refused for SET DEFINER ON admin", e)
	}
	if e := p.Tables[2]; !e.Rights || !strings.Contains(strings.Join(e.Reasons, "; "), "SYSTEM VIEWS on shop_copy") {
		t.Errorf("stopped: %+v, want refused for SYSTEM VIEWS on shop_copy", e)
	}
	if err := p.Refusal(); !errors.Is(err, model.ErrSidecarRights) {
		t.Errorf("refusal: %v", err)
	}
	p = viewPlan()
	if err := restorerOn(nil).requireViewRights(ctx, &p); err != nil || actions(p) != actions(viewPlan()) {
		t.Errorf("a server without a Rights port: %v, %s", err, actions(p))
	}
	broken := errors.New("grants unreadable")
	for _, access := range []string{model.RightSetDefiner, model.RightSystemViews} {
		p = viewPlan()
		db := rightsDB{held: map[string]bool{"SET DEFINER admin": true}, fail: map[string]error{access: broken}, asked: map[string]int{}}
		if err := restorerOn(db).requireViewRights(ctx, &p); !errors.Is(err, broken) {
			t.Errorf("%s unreadable: %v", access, err)
		}
	}
}
