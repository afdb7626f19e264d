package clickhouse

import (
	"context"
	"fmt"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/model"
)

// PartRows sums the rows of each table's active parts: physical rows, a
// lightweight delete's hidden ones included, as each part's count.txt has
// them.
func (d *Database) PartRows(ctx context.Context, database string) (map[string]uint64, error) {
	out := map[string]uint64{}
	err := nameRows(ctx, d.conn, `SELECT table AS name, toUInt64(sum(rows)) AS rows FROM system.parts
		WHERE database = {db:String} AND active GROUP BY table`, []proto.Parameter{Param("db", database)}, out)
	if err != nil {
		return nil, fmt.Errorf("read the parts of %s: %w", database, err)
	}
	return out, nil
}

// CheckTable runs CHECK TABLE. An engine without a check (Memory, views)
// passes; a damaged part is reported with ClickHouse's words.
func (d *Database) CheckTable(ctx context.Context, database, table string) (string, error) {
	for what, name := range map[string]string{"database": database, "table": table} {
		if err := model.ValidateIdentifier(what, name); err != nil {
			return "", err
		}
	}
	var path, message proto.ColStr
	var passed proto.ColUInt8
	var failures []string
	err := d.do(ctx, ch.Query{
		Body:   "CHECK TABLE " + QuoteIdent(database) + "." + QuoteIdent(table) + " SETTINGS check_query_single_value_result = 0",
		Result: proto.Results{{Name: "part_path", Data: &path}, {Name: "is_passed", Data: &passed}, {Name: "message", Data: &message}},
		OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < passed.Rows(); i++ {
				if passed.Row(i) == 0 {
					failures = append(failures, fmt.Sprintf("part %s: %s", path.Row(i), message.Row(i)))
				}
			}
			return nil
		}})
	if ch.IsErr(err, proto.ErrNotImplemented) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if len(failures) > 0 {
		return fmt.Sprintf("CHECK TABLE failed for %d parts; first %s", len(failures), failures[0]), nil
	}
	return "", nil
}
