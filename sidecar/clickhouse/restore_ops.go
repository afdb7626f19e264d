package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

// RestoreOps is what a restore changes in a live database
// (sidecar.RestoreOps): swaps, partitions, views created stopped, on the
// Database's connections.
type RestoreOps struct{ *conn }

var _ sidecar.RestoreOps = (*RestoreOps)(nil)

// validNames refuses any name ClickVault would not put in SQL.
func validNames(names ...string) error {
	for _, n := range names {
		if err := model.ValidateIdentifier("name", n); err != nil {
			return err
		}
	}
	return nil
}

func (d *RestoreOps) DatabaseEngine(ctx context.Context, database string) (string, error) {
	var engine proto.ColStr
	err := d.do(ctx, ch.Query{Body: "SELECT engine FROM system.databases WHERE name = {db:String}",
		Parameters: []proto.Parameter{Param("db", database)}, Result: proto.ResultColumn{Data: &engine}})
	if err != nil {
		return "", fmt.Errorf("read the engine of database %s: %w", database, err)
	}
	if engine.Rows() == 0 {
		return "", fmt.Errorf("database %s: %w", database, sidecar.ErrNotFound)
	}
	return engine.Row(0), nil
}

func (d *RestoreOps) TableNames(ctx context.Context, database string) ([]string, error) {
	var names proto.ColStr
	var out []string
	err := d.do(ctx, ch.Query{Body: "SELECT name FROM system.tables WHERE database = {db:String} AND NOT is_temporary ORDER BY name",
		Parameters: []proto.Parameter{Param("db", database)}, Result: proto.ResultColumn{Data: &names},
		OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < names.Rows(); i++ {
				out = append(out, names.Row(i))
			}
			return nil
		}})
	if err != nil {
		return nil, fmt.Errorf("list the tables of %s: %w", database, err)
	}
	return out, nil
}

// Objects reads system.databases and system.tables: uuid is what tells a
// table a restore created from one someone put under the same name since.
func (d *RestoreOps) Objects(ctx context.Context, database string) (sidecar.Objects, error) {
	out := sidecar.Objects{Tables: map[string]sidecar.Object{}}
	var names, ids proto.ColStr
	var modified proto.ColUInt32
	err := d.do(ctx, ch.Query{
		// The database's row has no table name ('' is no table's).
		Body: `SELECT '' AS object, toString(uuid) AS id, toUInt32(0) AS modified FROM system.databases WHERE name = {db:String}
		       UNION ALL SELECT name AS object, toString(uuid) AS id, toUnixTimestamp(metadata_modification_time) AS modified
		       FROM system.tables WHERE database = {db:String} AND NOT is_temporary`,
		Parameters: []proto.Parameter{Param("db", database)},
		Result:     proto.Results{{Name: "object", Data: &names}, {Name: "id", Data: &ids}, {Name: "modified", Data: &modified}},
		OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < names.Rows(); i++ {
				if names.Row(i) == "" {
					out.UUID = ids.Row(i)
				} else {
					out.Tables[names.Row(i)] = sidecar.Object{UUID: ids.Row(i), Modified: time.Unix(int64(modified.Row(i)), 0)}
				}
			}
			return nil
		}})
	if err != nil {
		return sidecar.Objects{}, fmt.Errorf("read the uuids of %s and its tables: %w", database, err)
	}
	return out, nil
}

// ExchangeTables runs EXCHANGE TABLES: both names change in one step, so
// readers see the old table or the new one, never neither. Only Atomic
// (and Replicated) databases can; ClickHouse refuses the others.
func (d *RestoreOps) ExchangeTables(ctx context.Context, database, a, b string) error {
	if err := validNames(database, a, b); err != nil {
		return err
	}
	db := QuoteIdent(database) + "."
	return d.exec(ctx, "EXCHANGE TABLES "+db+QuoteIdent(a)+" AND "+db+QuoteIdent(b))
}

func (d *RestoreOps) TablePartitions(ctx context.Context, database, table string) ([]model.Partition, error) {
	var ids, values proto.ColStr
	var rows proto.ColUInt64
	var out []model.Partition
	err := d.do(ctx, ch.Query{
		Body: `SELECT partition_id AS id, any(partition) AS value, sum(rows) AS rows FROM system.parts
		       WHERE database = {db:String} AND table = {t:String} AND active GROUP BY id ORDER BY id`,
		Parameters: []proto.Parameter{Param("db", database), Param("t", table)},
		Result:     proto.Results{{Name: "id", Data: &ids}, {Name: "value", Data: &values}, {Name: "rows", Data: &rows}},
		OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < ids.Rows(); i++ {
				out = append(out, model.Partition{ID: ids.Row(i), Value: values.Row(i), Rows: rows.Row(i)})
			}
			return nil
		}})
	if err != nil {
		return nil, fmt.Errorf("read the partitions of %s.%s: %w", database, table, err)
	}
	return out, nil
}

// ReplacePartition names the partition by its id (as system.parts has it):
// the id is the same whatever the key's type, where a value literal must
// be written in the key's own type (a tuple key does not take a string).
func (d *RestoreOps) ReplacePartition(ctx context.Context, database, table, partitionID, from string) error {
	if err := validNames(database, table, from); err != nil {
		return err
	}
	db := QuoteIdent(database) + "."
	return d.exec(ctx, fmt.Sprintf("ALTER TABLE %s%s REPLACE PARTITION ID %s FROM %s%s",
		db, QuoteIdent(table), QuoteString(partitionID), db, QuoteIdent(from)))
}
