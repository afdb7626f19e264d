package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/model"
)

var catalogNames = []string{"database", "name", "kind", "chain", "base", "location", "status", "clickhouse_backup_id", "error", "table_set",
	"check_status", "check_problem", "verify_status", "kind_reason"}

type catalogColumns struct {
	text                                                  [14]proto.ColStr // in the order of catalogNames
	checked, verified                                     *proto.ColNullable[time.Time]
	restoreSeconds                                        proto.ColFloat64
	tables, tableBytes                                    *proto.ColMap[string, uint64]
	started, finished                                     *proto.ColNullable[time.Time]
	numFiles, totalSize, uncompressedSize, compressedSize proto.ColUInt64
	storedBytes                                           proto.ColUInt64
	fullForced                                            proto.ColBool
	updatedAt                                             *proto.ColDateTime64
	copies                                                *proto.ColArr[string]
}

func newCatalogColumns() *catalogColumns {
	return &catalogColumns{
		started:    proto.NewColNullable[time.Time](new(proto.ColDateTime64).WithPrecision(proto.PrecisionMilli)),
		finished:   proto.NewColNullable[time.Time](new(proto.ColDateTime64).WithPrecision(proto.PrecisionMilli)),
		checked:    proto.NewColNullable[time.Time](new(proto.ColDateTime64).WithPrecision(proto.PrecisionMilli)),
		verified:   proto.NewColNullable[time.Time](new(proto.ColDateTime64).WithPrecision(proto.PrecisionMilli)),
		updatedAt:  new(proto.ColDateTime64).WithPrecision(proto.PrecisionMicro),
		tables:     proto.NewMap[string, uint64](new(proto.ColStr), new(proto.ColUInt64)),
		tableBytes: proto.NewMap[string, uint64](new(proto.ColStr), new(proto.ColUInt64)),
		copies:     new(proto.ColStr).Array(),
	}
}

func (c *catalogColumns) columns() proto.Input {
	var in proto.Input
	for i, n := range catalogNames {
		in = append(in, proto.InputColumn{Name: n, Data: &c.text[i]})
	}
	return append(in,
		proto.InputColumn{Name: "started_at", Data: c.started}, proto.InputColumn{Name: "finished_at", Data: c.finished},
		proto.InputColumn{Name: "num_files", Data: &c.numFiles}, proto.InputColumn{Name: "total_size", Data: &c.totalSize},
		proto.InputColumn{Name: "stored_bytes", Data: &c.storedBytes}, proto.InputColumn{Name: "full_forced", Data: &c.fullForced},
		proto.InputColumn{Name: "uncompressed_size", Data: &c.uncompressedSize},
		proto.InputColumn{Name: "compressed_size", Data: &c.compressedSize},
		proto.InputColumn{Name: "tables", Data: c.tables}, proto.InputColumn{Name: "table_bytes", Data: c.tableBytes},
		proto.InputColumn{Name: "checked_at", Data: c.checked},
		proto.InputColumn{Name: "verified_at", Data: c.verified}, proto.InputColumn{Name: "verify_restore_seconds", Data: &c.restoreSeconds},
		proto.InputColumn{Name: "copies", Data: c.copies})
}

func nullableTime(t *time.Time) proto.Nullable[time.Time] {
	if t == nil {
		return proto.Nullable[time.Time]{}
	}
	return proto.NewNullable(*t)
}

func (c *catalogColumns) append(r control.CatalogRow) {
	for i, v := range []string{r.Database, r.Name, r.Kind, r.Chain, r.Base, r.Location, string(r.Status), r.BackupID, r.Error, r.TableSet,
		string(r.CheckVerdict), r.CheckProblem, string(r.VerifyVerdict), r.KindReason} {
		c.text[i].Append(v)
	}
	c.tables.Append(orEmpty(r.Tables))
	c.tableBytes.Append(orEmpty(r.TableBytes))
	c.started.Append(nullableTime(r.StartedAt))
	c.checked.Append(nullableTime(r.CheckedAt))
	c.verified.Append(nullableTime(r.VerifiedAt))
	c.restoreSeconds.Append(r.VerifyRestoreSec)
	c.finished.Append(nullableTime(r.FinishedAt))
	c.numFiles.Append(r.NumFiles)
	c.totalSize.Append(r.TotalSize)
	c.storedBytes.Append(r.StoredBytes)
	c.fullForced.Append(r.FullForced)
	c.uncompressedSize.Append(r.UncompressedSize)
	c.compressedSize.Append(r.CompressedSize)
	c.copies.Append(r.Copies)
}

func (c *catalogColumns) row(i int) control.CatalogRow {
	t := func(col *proto.ColNullable[time.Time]) *time.Time {
		if v := col.Row(i); v.Set {
			u := v.Value.UTC()
			return &u
		}
		return nil
	}
	return control.CatalogRow{Database: c.text[0].Row(i), Name: c.text[1].Row(i), Kind: c.text[2].Row(i),
		Chain: c.text[3].Row(i), Base: c.text[4].Row(i), Location: c.text[5].Row(i), Status: model.CatalogStatus(c.text[6].Row(i)),
		BackupID: c.text[7].Row(i), Error: c.text[8].Row(i), TableSet: c.text[9].Row(i), Tables: c.tables.Row(i),
		TableBytes: c.tableBytes.Row(i), CheckVerdict: model.CheckVerdict(c.text[10].Row(i)), CheckProblem: c.text[11].Row(i), CheckedAt: t(c.checked),
		VerifyVerdict: model.VerifyVerdict(c.text[12].Row(i)), KindReason: c.text[13].Row(i), FullForced: c.fullForced.Row(i),
		StoredBytes: c.storedBytes.Row(i), VerifiedAt: t(c.verified), VerifyRestoreSec: c.restoreSeconds.Row(i),
		StartedAt: t(c.started), FinishedAt: t(c.finished),
		NumFiles: c.numFiles.Row(i), TotalSize: c.totalSize.Row(i),
		UncompressedSize: c.uncompressedSize.Row(i), CompressedSize: c.compressedSize.Row(i), Copies: append([]string{}, c.copies.Row(i)...)}
}

// CatalogRows reads database's rows of the backups table, in one read with
// the other databases' rows asked for at the same time (batches).
func (c *ControlPlane) CatalogRows(ctx context.Context, database string) ([]control.CatalogRow, error) {
	byDatabase, err := c.catalogReads.do(ctx, database)
	if err != nil {
		return nil, fmt.Errorf("read the backups table: %w", err)
	}
	return slices.Clone(byDatabase[database]), nil // the callers of a batch share its map
}

// readCatalogRows reads the rows of the databases given, by database, each
// database's by name.
func (c *ControlPlane) readCatalogRows(ctx context.Context, databases []string) (map[string][]control.CatalogRow, error) {
	cols := newCatalogColumns()
	selects, results := selectInto(cols.columns(), "kind", "status", "check_status", "verify_status")
	out := map[string][]control.CatalogRow{}
	q := fmt.Sprintf("SELECT %s FROM %s FINAL WHERE database IN {dbs:Array(String)} ORDER BY database, name", selects, c.table("backups"))
	err := c.db.do(ctx, ch.Query{Body: q, Parameters: []proto.Parameter{arrayParam("dbs", databases)}, Result: results,
		OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < cols.numFiles.Rows(); i++ {
				r := cols.row(i)
				out[r.Database] = append(out[r.Database], r)
			}
			return nil
		}})
	return out, err
}

// selectInto is the SELECT list reading a table's columns into in, and
// the results that take them. The LowCardinality columns named are read
// as String, which in's plain String columns decode.
func selectInto(in proto.Input, lowCardinality ...string) (string, proto.Results) {
	names := make([]string, len(in))
	results := make(proto.Results, len(in))
	for i, col := range in {
		names[i] = col.Name
		if slices.Contains(lowCardinality, col.Name) {
			names[i] = "CAST(" + col.Name + " AS String) AS " + col.Name
		}
		results[i] = proto.ResultColumn{Name: col.Name, Data: col.Data.(proto.ColResult)}
	}
	return strings.Join(names, ", "), results
}

func orEmpty(m map[string]uint64) map[string]uint64 {
	if m == nil {
		return map[string]uint64{}
	}
	return m
}
