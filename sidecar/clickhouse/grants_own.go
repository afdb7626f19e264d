package clickhouse

import (
	"context"
	"fmt"
	"strings"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/model"
)

var _ sidecar.OwnRights = (*Rights)(nil)

// OwnUser is the login the sidecar uses.
func (d *Rights) OwnUser() string { return d.user }

// privSystemViews is SYSTEM VIEWS: SYSTEM STOP VIEW takes it.
const privSystemViews control.Privilege = model.RightSystemViews

// HoldsOnDatabase says whether the sidecar's user holds access on every
// table of database, as it does for a requester (grants_eval.go).
func (d *Rights) HoldsOnDatabase(ctx context.Context, access, database string) (bool, error) {
	return d.Can(ctx, d.user, control.Privilege(access), database, "")
}

// globalParents are the access types that include a global right, as
// ClickHouse's hierarchy has them: SET DEFINER sits right under ALL,
// ALLOW SQL SECURITY NONE under ACCESS MANAGEMENT.
var globalParents = map[string][]string{
	model.RightSetDefiner:      {"ALL"},
	model.RightSQLSecurityNone: {"ACCESS MANAGEMENT", "ALL"},
}

// HoldsGlobal says whether the sidecar's user (with its default roles)
// holds a global right on object: SET DEFINER ON a user, ALLOW SQL
// SECURITY NONE (object ""). system.grants names the object in
// access_object: the user for SET DEFINER ON user, "" for ON * (and for
// ALL ON *.*), a prefix with is_wildcard for ON user*.
func (d *Rights) HoldsGlobal(ctx context.Context, access, object string) (bool, error) {
	roles, err := d.rolesOf(ctx, d.user)
	if err != nil {
		return false, err
	}
	types := append([]string{access}, globalParents[access]...)
	var source, obj proto.ColStr
	var revoke, wildcard proto.ColUInt8
	var rows []objectGrant
	q := `SELECT ifNull(user_name, concat('role:', ifNull(role_name, ''))) AS source, access_object AS obj,
		is_partial_revoke AS revoke, is_wildcard AS wildcard
		FROM system.grants
		WHERE (user_name = {user:String} OR role_name IN {roles:Array(String)})
		  AND CAST(access_type AS String) IN {types:Array(String)} AND database IS NULL`
	err = d.do(ctx, ch.Query{Body: q, Parameters: []proto.Parameter{Param("user", d.user), arrayParam("roles", roles), arrayParam("types", types)},
		Result: proto.Results{{Name: "source", Data: &source}, {Name: "obj", Data: &obj}, {Name: "revoke", Data: &revoke}, {Name: "wildcard", Data: &wildcard}},
		OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < source.Rows(); i++ {
				rows = append(rows, objectGrant{source: source.Row(i), object: obj.Row(i), revoke: revoke.Row(i) == 1, wildcard: wildcard.Row(i) == 1})
			}
			return nil
		}})
	if err != nil {
		return false, fmt.Errorf("read the grants of %s: %w", d.user, err)
	}
	return holdsObject(rows, object), nil
}

// objectGrant is a row of system.grants for a right on an object (a user).
type objectGrant struct {
	source, object   string
	revoke, wildcard bool
}

// holdsObject decides as ClickHouse does: within one user's or role's rows
// the most specific that reaches object wins (the object named, then the
// longest prefix, then ON *); one source that holds it is enough.
func holdsObject(rows []objectGrant, object string) bool {
	best := map[string]int{}
	granted := map[string]bool{}
	for _, r := range rows {
		spec := -1
		switch {
		case r.object == "":
			spec = 0
		case r.wildcard && strings.HasPrefix(object, r.object):
			spec = 1 + len(r.object)
		case !r.wildcard && r.object == object:
			spec = 1 << 20
		}
		if b, seen := best[r.source]; spec >= 0 && (!seen || spec > b) {
			best[r.source], granted[r.source] = spec, !r.revoke
		}
	}
	for _, ok := range granted {
		if ok {
			return true
		}
	}
	return false
}
