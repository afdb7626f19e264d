package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/control"
)

// The rows of request_log and backups are written in batches: the rows
// several requests write at once go in one INSERT (batches), where each
// was an INSERT of its own, and each INSERT is a part ClickHouse writes,
// merges later and reads under FINAL until then. A request's own rows are
// still written in its order: it waits for each write before the next.

// AppendLog writes entries to request_log, with the rows other requests
// write at the same time. A batch ClickHouse refused is tried again with
// only these entries, so one request's row it refuses fails no other
// request's (batches.doOrAlone).
func (c *ControlPlane) AppendLog(ctx context.Context, entries ...control.LogEntry) error {
	for _, e := range entries { // a row that cannot be encoded fails its caller alone, before any batch
		if _, err := logEntryID(e); err != nil {
			return err
		}
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := c.logRows.doOrAlone(ctx, entries...); err != nil {
		return fmt.Errorf("append to request_log: %w", err)
	}
	return nil
}

// insertLog is one INSERT of entries into request_log.
func (c *ControlPlane) insertLog(ctx context.Context, entries []control.LogEntry) (struct{}, error) {
	cols := newLogColumns()
	for _, e := range entries {
		if err := cols.append(e); err != nil {
			return struct{}{}, err
		}
	}
	input := cols.input()
	// A view hung on request_log that fails must not fail the rows (nor
	// make a batch look refused after it was stored: it is retried per
	// caller then), as for the backups table.
	return struct{}{}, c.db.do(ctx, ch.Query{Body: "INSERT INTO " + c.table("request_log") + " " + input.Columns() + " VALUES", Input: input,
		Settings: []ch.Setting{ch.SettingInt("materialized_views_ignore_errors", 1)}})
}

// stampedRow is a row of the backups table and when it was written: its
// updated_at, which the table's FINAL keeps the newest row of a backup by.
type stampedRow struct {
	row control.CatalogRow
	at  time.Time
}

// WriteCatalog writes rows to the backups table, with the rows other
// requests write at the same time (a batch ClickHouse refused is tried
// again with these rows alone, as AppendLog does).
func (c *ControlPlane) WriteCatalog(ctx context.Context, rows []control.CatalogRow) error {
	if len(rows) == 0 {
		return nil
	}
	now := time.Now()
	stamped := make([]stampedRow, len(rows))
	for i, r := range rows {
		stamped[i] = stampedRow{row: r, at: now}
	}
	if _, err := c.catalogRows.doOrAlone(ctx, stamped...); err != nil {
		return fmt.Errorf("write the backups table: %w", err)
	}
	return nil
}

// insertCatalog is one INSERT of rows into the backups table.
func (c *ControlPlane) insertCatalog(ctx context.Context, rows []stampedRow) (struct{}, error) {
	cols := newCatalogColumns()
	for _, r := range rows {
		cols.append(r.row)
		cols.updatedAt.Append(r.at)
	}
	in := append(cols.columns(), proto.InputColumn{Name: "updated_at", Data: cols.updatedAt})
	// Requesters may read backups, so they may hang a materialized view on
	// it: one that fails must not stop the catalog (its rows still land).
	q := ch.Query{Body: "INSERT INTO " + c.table("backups") + " " + in.Columns() + " VALUES", Input: in,
		Settings: []ch.Setting{ch.SettingInt("materialized_views_ignore_errors", 1)}}
	return struct{}{}, c.db.do(ctx, q)
}
