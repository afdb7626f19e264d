package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/control"
)

// A read of pending requests is three small queries, so that its cost is
// the rows it takes in, not the rows the table holds (one INSERT can add
// millions): the table's last block; the rows seen, chosen from the cheap
// columns alone (PendingPerRequester of each requester, the first from
// where it is read, by groupArraySorted rather than a sort of them all);
// and, for those ids alone, the first row of each id, its logins and its
// answer. A row's place is its block (_block_number) and its offset in it
// (_block_offset), both kept across merges (sql/016, sql/017).

// terminalStates is the SQL list of the states that answer a request.
const terminalStates = "('succeeded', 'failed', 'rejected', 'cancelled')"

// PendingRequests is a full read: the pending requests made since since.
func (c *ControlPlane) PendingRequests(ctx context.Context, since time.Time) ([]control.PendingRequest, error) {
	page, err := c.PendingAfter(ctx, control.ReadFrom{Since: since, Full: true})
	return page.Pending, err
}

func (c *ControlPlane) PendingAfter(ctx context.Context, from control.ReadFrom) (control.ReadPage, error) {
	var page control.ReadPage
	last, err := c.lastBlock(ctx)
	if err != nil {
		return page, err
	}
	page.LastBlock = last
	seen, ids, err := c.seenRows(ctx, from)
	if err != nil || len(seen) == 0 {
		return page, err
	}
	page.Seen = seen
	keys := make(map[control.ReadMark]bool, len(seen))
	for _, s := range seen {
		keys[s.Mark] = true
	}
	pending, err := c.firstRowsOf(ctx, from.Since, ids)
	for _, p := range pending {
		// The first row of a seen row's id may be one not seen (the row
		// reuses its id): it is read where its requester's rows are.
		if keys[p.Mark] {
			page.Pending = append(page.Pending, p)
		}
	}
	return page, err
}

// lastBlock is the highest block number of the requests table.
func (c *ControlPlane) lastBlock(ctx context.Context) (uint64, error) {
	var last proto.ColUInt64
	err := c.db.do(ctx, ch.Query{Body: "SELECT max(_block_number) AS last FROM " + c.table("requests") + quiet,
		Result: proto.ResultColumn{Name: "last", Data: &last}})
	if err != nil {
		return 0, fmt.Errorf("read the last block of requests: %w", err)
	}
	if last.Rows() == 0 {
		return 0, nil
	}
	return last.Row(0), nil
}

// seenRows chooses the rows a read takes in, in insert order, and their
// ids. The choice reads requested_by and the row's place alone; the place
// is packed into one UInt128 (block, then offset), which groupArraySorted
// keeps the smallest of per requester without sorting the rest.
func (c *ControlPlane) seenRows(ctx context.Context, from control.ReadFrom) ([]control.SeenRow, []string, error) {
	source, where, params := c.seenSource(from)
	q := fmt.Sprintf(`SELECT requested_by, _block_number AS block, _block_offset AS offset, toString(id) AS rid
	FROM %[1]s
	WHERE requested_at >= fromUnixTimestamp64Milli({since:Int64}) AND _block_number >= {scan:UInt64}
		AND (_block_number, _block_offset) IN (
			SELECT toUInt64(bitShiftRight(k, 64)), toUInt64(bitAnd(k, toUInt128('18446744073709551615')))
			FROM (SELECT arrayJoin(groupArraySorted(%[2]d)(bitShiftLeft(toUInt128(r._block_number), 64) + r._block_offset)) AS k
				FROM %[3]s
				WHERE r.requested_at >= fromUnixTimestamp64Milli({since:Int64}) AND r._block_number >= {scan:UInt64} %[4]s
				GROUP BY r.requested_by ORDER BY k LIMIT %[5]d))
	ORDER BY block, offset`, c.table("requests"), control.PendingPerRequester, source, where, control.PendingPerRead)
	var by, rid proto.ColStr
	var block, offset proto.ColUInt64
	var seen []control.SeenRow
	var ids []string
	query := ch.Query{Body: q, Parameters: params,
		Result: proto.Results{{Name: "requested_by", Data: &by}, {Name: "block", Data: &block}, {Name: "offset", Data: &offset},
			{Name: "rid", Data: &rid}},
		OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < by.Rows(); i++ {
				seen = append(seen, control.SeenRow{RequestedBy: by.Row(i), Mark: control.ReadMark{Block: block.Row(i), Offset: offset.Row(i)}})
				ids = append(ids, rid.Row(i))
			}
			return nil
		}}
	if from.Full {
		query.Settings = fullReadSettings
	}
	if err := c.db.do(ctx, query); err != nil {
		return nil, nil, fmt.Errorf("read pending requests: %w", err)
	}
	return seen, ids, nil
}

// fullReadSettings keep a full read's memory bounded whatever the tables
// hold: its anti join of requests with the answers of the retention (after
// a flood, millions of rows each) is a grace hash join, which spills to disk
// past 64 MiB (at 6,000,000 rows: about 200 MiB in all, where a NOT IN set
// took 0.5 to 5 GiB).
var fullReadSettings = []ch.Setting{{Key: "join_algorithm", Value: "grace_hash", Important: true},
	ch.SettingInt("max_bytes_in_join", 64<<20), ch.SettingInt("join_use_nulls", 0)}

// seenSource is where a read may take rows from (requests AS r), the
// condition on them, and the query's parameters: a full read, every row
// whose id has no terminal answer (its answer came after it was made);
// else each requester's rows from their mark, or from the floor.
func (c *ControlPlane) seenSource(from control.ReadFrom) (string, string, []proto.Parameter) {
	since := from.Since.UnixMilli()
	params := []proto.Parameter{Param("since", fmt.Sprint(since))}
	source := c.table("requests") + " AS r"
	if from.Full {
		params = append(params, Param("scan", "0"), Param("log_since", fmt.Sprint(since-time.Minute.Milliseconds())))
		return source + fmt.Sprintf(` LEFT ANTI JOIN (SELECT request_id FROM %s
			WHERE at >= fromUnixTimestamp64Milli({log_since:Int64}) AND state IN %s) AS l ON l.request_id = r.id`,
			c.table("request_log"), terminalStates), "", params
	}
	scan := from.Floor
	var logins, blocks, offsets []string
	for login, m := range from.Marks {
		logins, blocks, offsets = append(logins, login), append(blocks, fmt.Sprint(m.Block)), append(offsets, fmt.Sprint(m.Offset))
		scan = min(scan, m.Block)
	}
	params = append(params, Param("scan", fmt.Sprint(scan)), Param("floor", fmt.Sprint(from.Floor)), arrayParam("logins", logins),
		proto.Parameter{Key: "blocks", Value: QuoteString("[" + strings.Join(blocks, ",") + "]")},
		proto.Parameter{Key: "offsets", Value: QuoteString("[" + strings.Join(offsets, ",") + "]")})
	return source, ` AND (r._block_number, r._block_offset) >= if(indexOf({logins:Array(String)}, r.requested_by) = 0,
		({floor:UInt64}, toUInt64(0)),
		({blocks:Array(UInt64)}[indexOf({logins:Array(String)}, r.requested_by)], {offsets:Array(UInt64)}[indexOf({logins:Array(String)}, r.requested_by)]))`, params
}

// firstRowsOf reads, for ids, the first row inserted with each, made since
// since, with the logins that used the id and its answer so far, if it has
// no terminal one. A later row reusing an id, from anyone, is ignored by
// every reader (request_log is keyed by id, so it cannot have an answer of
// its own): nobody takes over, or cancels, another's request by reusing its
// id. Every text is cut one byte past what admission accepts, and every
// list one name past: a row of megabytes is read as a short one, and still
// rejected for its length.
func (c *ControlPlane) firstRowsOf(ctx context.Context, since time.Time, ids []string) ([]control.PendingRequest, error) {
	q := fmt.Sprintf(`SELECT toString(r.id) AS id, %s AS action, %s AS database,
		%s AS kind, %s AS backup, ifNull(toUnixTimestamp64Milli(r.as_of), 0) AS as_of,
		isNotNull(r.as_of) AS has_as_of, %s AS target, r.dry_run AS dry_run, %s AS via,
		%s AS tables, %s AS exclude_tables, %s AS partitions, %s AS mode, %s AS consumers, r.shard AS shard, %s AS source,
		%s AS query_id, %s AS proof, r.requested_by AS requested_by, toUnixTimestamp64Milli(r.requested_at) AS requested_at, r.logins AS logins,
		r.block AS block, r.offset AS offset,
		CAST(l.state AS String) AS state, l.backup AS log_backup, l.operation_id AS operation_id
	FROM (SELECT id, action, database, kind, backup, as_of, target, dry_run, via,
			tables, exclude_tables, partitions, mode, consumers, shard, source, requested_by, requested_at, query_id, proof,
			uniqExact(requested_by) OVER (PARTITION BY id) AS logins, _block_number AS block, _block_offset AS offset
		FROM %s WHERE requested_at >= fromUnixTimestamp64Milli({since:Int64}) AND id IN {ids:Array(UUID)}
		ORDER BY block, offset LIMIT 1 BY id) AS r
	LEFT JOIN %s AS l ON l.request_id = r.id
	WHERE l.state NOT IN %s
	ORDER BY r.block, r.offset`, cut("CAST(r.action AS String)"), cut("r.database"), cut("CAST(r.kind AS String)"), cut("r.backup"),
		cut("r.target"), cut("r.via"), cutList("r.tables"), cutList("r.exclude_tables"), cutList("r.partitions"),
		cut("CAST(r.mode AS String)"), cut("CAST(r.consumers AS String)"), cut("r.source"), cut("r.query_id"), cut("r.proof"),
		c.table("requests"), c.latestLog(), terminalStates)
	cols := newPendingColumns()
	var out []control.PendingRequest
	// join_use_nulls = 0: an unanswered request joins an empty state, not
	// NULL, whatever the sidecar user's profile says.
	err := c.db.do(ctx, ch.Query{Body: q, Parameters: []proto.Parameter{Param("since", fmt.Sprint(since.UnixMilli())), arrayParam("ids", ids)},
		Settings: []ch.Setting{ch.SettingInt("join_use_nulls", 0)},
		Result:   cols.results(), OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < cols.id.Rows(); i++ {
				out = append(out, cols.row(i))
			}
			return nil
		}})
	if err != nil {
		return nil, fmt.Errorf("read pending requests: %w", err)
	}
	return out, nil
}

// latestLog picks, per request of {ids}, its state (a terminal row, once
// there is one, wins over any later row, as in request_status) and the
// newest non-empty backup name and operation id (progress rows leave them
// empty). Only those requests' log rows are read (request_log's key starts
// with request_id).
func (c *ControlPlane) latestLog() string {
	return fmt.Sprintf(`(SELECT request_id,
		argMax(state, (is_terminal, at)) AS state,
		argMaxIf(backup, at, backup != '') AS backup,
		argMaxIf(operation_id, at, operation_id != '') AS operation_id
	FROM (SELECT request_id, state, backup, operation_id, at, state IN %s AS is_terminal
		FROM %s WHERE request_id IN {ids:Array(UUID)})
	GROUP BY request_id)`, terminalStates, c.table("request_log"))
}
