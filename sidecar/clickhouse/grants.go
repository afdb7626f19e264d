package clickhouse

import (
	"context"
	"fmt"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar"
)

var _ sidecar.Authorizer = (*Database)(nil)

// Can answers from ClickHouse's own grants (system.grants), directly and
// through roles (system.role_grants, followed transitively), whether user
// holds p on every table of database. A partial revoke on the database
// wins. The sidecar's user needs SHOW USERS and SHOW ROLES to read them.
func (d *Database) Can(ctx context.Context, user string, p sidecar.Privilege, database string) (bool, error) {
	roles, err := d.rolesOf(ctx, user)
	if err != nil {
		return false, err
	}
	var access, db, table proto.ColStr
	var revoke proto.ColUInt8
	granted, revoked := false, false
	q := `SELECT CAST(access_type AS String) AS access_type, ifNull(database, '*') AS db, ifNull(table, '*') AS tbl, is_partial_revoke AS revoke
		FROM system.grants
		WHERE (user_name = {user:String} OR role_name IN {roles:Array(String)}) AND column IS NULL`
	err = d.do(ctx, ch.Query{Body: q, Parameters: []proto.Parameter{Param("user", user), arrayParam("roles", roles)},
		Result: proto.Results{{Name: "access_type", Data: &access}, {Name: "db", Data: &db}, {Name: "tbl", Data: &table}, {Name: "revoke", Data: &revoke}},
		OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < access.Rows(); i++ {
				if !covers(access.Row(i), p) || (db.Row(i) != "*" && db.Row(i) != database) {
					continue
				}
				switch {
				case revoke.Row(i) == 1:
					revoked = true
				case table.Row(i) == "*":
					granted = true
				}
			}
			return nil
		}})
	if err != nil {
		return false, fmt.Errorf("read grants of %s: %w", user, err)
	}
	return granted && !revoked, nil
}

// rolesOf follows role grants from user, so a role granted to a role counts.
func (d *Database) rolesOf(ctx context.Context, user string) ([]string, error) {
	seen := map[string]bool{}
	frontier := []string{}
	q := `SELECT granted_role_name FROM system.role_grants WHERE user_name = {user:String}`
	params := []proto.Parameter{Param("user", user)}
	for {
		var names proto.ColStr
		if err := d.do(ctx, ch.Query{Body: q, Parameters: params, Result: proto.ResultColumn{Data: &names}}); err != nil {
			return nil, fmt.Errorf("read roles of %s: %w", user, err)
		}
		var next []string
		for i := 0; i < names.Rows(); i++ {
			if r := names.Row(i); !seen[r] {
				seen[r] = true
				next = append(next, r)
			}
		}
		if len(next) == 0 {
			break
		}
		frontier = append(frontier, next...)
		q = `SELECT granted_role_name FROM system.role_grants WHERE role_name IN {roles:Array(String)}`
		params = []proto.Parameter{arrayParam("roles", next)}
	}
	return frontier, nil
}

// covers reports whether a granted access type includes p.
func covers(access string, p sidecar.Privilege) bool {
	switch access {
	case "ALL", string(p):
		return true
	case "CREATE":
		return p == sidecar.PrivCreate
	}
	return false
}

// arrayParam passes a string list as an Array(String) parameter.
func arrayParam(name string, values []string) proto.Parameter {
	text := "["
	for i, v := range values {
		if i > 0 {
			text += ","
		}
		text += QuoteString(v)
	}
	text += "]"
	return proto.Parameter{Key: name, Value: QuoteString(text)}
}
