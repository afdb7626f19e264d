package clickhouse

import (
	"context"
	"fmt"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/model"
)

// TableColumns reads a table's physical columns from system.columns: ALIAS
// and EPHEMERAL columns store nothing and REPLACE PARTITION ignores them.
func (d *RestoreOps) TableColumns(ctx context.Context, database, table string) ([]model.Column, error) {
	var names, types proto.ColStr
	var out []model.Column
	err := d.do(ctx, ch.Query{
		Body: `SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String}
		       AND default_kind NOT IN ('ALIAS', 'EPHEMERAL') ORDER BY position`,
		Parameters: []proto.Parameter{Param("db", database), Param("t", table)},
		Result:     proto.Results{{Name: "name", Data: &names}, {Name: "type", Data: &types}},
		OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < names.Rows(); i++ {
				out = append(out, model.Column{Name: names.Row(i), Type: types.Row(i)})
			}
			return nil
		}})
	if err != nil {
		return nil, fmt.Errorf("read the columns of %s.%s: %w", database, table, err)
	}
	return out, nil
}
