package sidecar

import (
	"context"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/model"
)

// ownRights is a sidecar user holding the rights named "ACCESS object".
type ownRights map[string]bool

func (ownRights) OwnUser() string { return "clickvault" }

func (o ownRights) HoldsGlobal(_ context.Context, access, object string) (bool, error) {
	return o[access+" "+object], nil
}

func (o ownRights) HoldsOnDatabase(_ context.Context, access, database string) (bool, error) {
	return o[access+" "+database], nil
}

func TestViewRightMissing(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		def  model.Definition
		own  ownRights
		want string // "" = nothing missing
	}{
		{model.Definition{SQLSecurity: "DEFINER", Definer: "admin"}, nil, "its definer is admin (SQL SECURITY DEFINER): creating it takes SET DEFINER ON admin, which the sidecar's user clickvault lacks"},
		{model.Definition{SQLSecurity: "DEFINER", Definer: "admin"}, ownRights{"SET DEFINER admin": true}, ""},
		{model.Definition{SQLSecurity: "DEFINER", Definer: "clickvault"}, nil, ""},
		{model.Definition{SQLSecurity: "DEFINER", Definer: "CURRENT_USER"}, nil, ""}, // whoever creates it: the sidecar
		{model.Definition{SQLSecurity: "INVOKER"}, nil, ""},
		{model.Definition{}, nil, ""},
		{model.Definition{SQLSecurity: "NONE"}, nil, "it has SQL SECURITY NONE: creating it takes ALLOW SQL SECURITY NONE"},
	}
	for _, c := range cases {
		got, err := viewRightMissing(ctx, c.own, c.def)
		if err != nil || c.want == "" && got != "" || c.want != "" && !strings.HasPrefix(got, c.want) {
			t.Errorf("%+v with %v: %q (%v), want %q", c.def, c.own, got, err, c.want)
		}
	}
}
