package clickhouse

import (
	"context"
	"fmt"
	"strings"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/control"
)

// Rights reads grants: a requester's rights (control.Authorizer), the
// sidecar's own (sidecar.OwnRights), and the row policies that apply to a
// login, on the Database's connections.
type Rights struct{ *conn }

var _ control.Authorizer = (*Rights)(nil)

// Grants reads user's grants from ClickHouse's own tables, to answer
// whether they hold a right as a session of theirs would: their own
// grants and those of their default roles (and of roles granted to those
// roles), read from system.grants and system.role_grants. The sidecar's
// user needs SHOW USERS and SHOW ROLES to read them.
func (d *Rights) Grants(ctx context.Context, user string) (control.Grants, error) {
	roles, err := d.rolesOf(ctx, user)
	if err != nil {
		return nil, err
	}
	rows, err := grantRows(ctx, d.conn, user, roles)
	if err != nil {
		return nil, fmt.Errorf("read grants of %s: %w", user, err)
	}
	return grantSet(rows), nil
}

// Can reads user's grants and answers one right: p on table of database,
// or with table "" on every table of it.
func (d *Rights) Can(ctx context.Context, user string, p control.Privilege, database, table string) (bool, error) {
	g, err := d.Grants(ctx, user)
	if err != nil {
		return false, err
	}
	return g.Can(p, database, table), nil
}

// grantSet is the rows of system.grants of a user and of their roles, as
// one read found them (control.Grants).
type grantSet []grantRow

// Can evaluates the rows as ClickHouse does (grants_eval.go).
func (g grantSet) Can(p control.Privilege, database, table string) bool {
	return holds(g, p, database, table)
}

// grantRows reads the rows of system.grants of user and of roles.
func grantRows(ctx context.Context, d *conn, user string, roles []string) ([]grantRow, error) {
	var rows []grantRow
	var source, access, db, table proto.ColStr
	var hasDB, hasTable, hasColumn, revoke, wildcard proto.ColUInt8
	q := `SELECT ifNull(user_name, concat('role:', ifNull(role_name, ''))) AS source,
		CAST(access_type AS String) AS access_type, ifNull(database, '') AS db, ifNull(table, '') AS tbl,
		isNotNull(database) AS has_db, isNotNull(table) AS has_table, isNotNull(column) AS has_column,
		is_partial_revoke AS revoke, is_wildcard AS wildcard
		FROM system.grants
		WHERE user_name = {user:String} OR role_name IN {roles:Array(String)}`
	err := d.do(ctx, ch.Query{Body: q, Parameters: []proto.Parameter{Param("user", user), arrayParam("roles", roles)},
		Result: proto.Results{{Name: "source", Data: &source}, {Name: "access_type", Data: &access}, {Name: "db", Data: &db}, {Name: "tbl", Data: &table},
			{Name: "has_db", Data: &hasDB}, {Name: "has_table", Data: &hasTable}, {Name: "has_column", Data: &hasColumn},
			{Name: "revoke", Data: &revoke}, {Name: "wildcard", Data: &wildcard}},
		OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < access.Rows(); i++ {
				level := rowLevel(hasDB.Row(i) == 1, hasTable.Row(i) == 1, hasColumn.Row(i) == 1)
				rows = append(rows, grantRow{source: source.Row(i), access: access.Row(i), database: db.Row(i), table: table.Row(i),
					level: level, revoke: revoke.Row(i) == 1, wildcard: wildcard.Row(i) == 1})
			}
			return nil
		}})
	return rows, err
}

func rowLevel(hasDB, hasTable, hasColumn bool) grantLevel {
	switch {
	case hasColumn:
		return levelColumn
	case hasTable:
		return levelTable
	case hasDB:
		return levelDatabase
	}
	return levelGlobal
}

// rolesOf follows role grants from user: at the user's own level only
// default roles, which every session of theirs has; below that every role
// granted to one of them.
func (d *Rights) rolesOf(ctx context.Context, user string) ([]string, error) {
	seen := map[string]bool{}
	var all []string
	q := `SELECT granted_role_name FROM system.role_grants WHERE user_name = {user:String} AND granted_role_is_default`
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
			return all, nil
		}
		all = append(all, next...)
		q = `SELECT granted_role_name FROM system.role_grants WHERE role_name IN {roles:Array(String)}`
		params = []proto.Parameter{arrayParam("roles", next)}
	}
}

// arrayParam passes a string list as an Array(String) parameter.
func arrayParam(name string, values []string) proto.Parameter {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = QuoteString(v)
	}
	return proto.Parameter{Key: name, Value: QuoteString("[" + strings.Join(quoted, ",") + "]")}
}
