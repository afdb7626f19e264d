package clickhouse

import (
	"context"
	"fmt"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// RowPolicies names the row policies of system.row_policies on tables of
// database (any table when tables is empty, and policies on database.*)
// that apply to user: to them or one of their roles by name, or to all
// with neither excepted. A restore would copy every row into a database
// the requester may read, so any such policy, whatever its condition,
// restricts them.
func (d *Rights) RowPolicies(ctx context.Context, user, database string, tables []string) ([]string, error) {
	roles, err := d.rolesOf(ctx, user)
	if err != nil {
		return nil, err
	}
	who := append([]string{user}, roles...)
	var names proto.ColStr
	q := `SELECT name FROM system.row_policies
		WHERE database = {db:String}
			AND (empty({tables:Array(String)}) OR table IN {tables:Array(String)} OR table IN ('', '*'))
			AND (hasAny(apply_to_list, {who:Array(String)})
				OR (apply_to_all AND NOT hasAny(apply_to_except, {who:Array(String)})))
		ORDER BY name` + quiet
	err = d.do(ctx, ch.Query{Body: q, Parameters: []proto.Parameter{Param("db", database), arrayParam("tables", tables),
		arrayParam("who", who)}, Result: proto.ResultColumn{Data: &names}})
	if err != nil {
		return nil, fmt.Errorf("read row policies on %s: %w", database, err)
	}
	out := make([]string, 0, names.Rows())
	for i := 0; i < names.Rows(); i++ {
		out = append(out, names.Row(i))
	}
	return out, nil
}
