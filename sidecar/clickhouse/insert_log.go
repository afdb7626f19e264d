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

// logSlack widens the query log's time window below the oldest row: the
// INSERT starts before its rows get requested_at, and the log's event_time
// has second precision.
const logSlack = time.Minute

// InsertFacts reads, for each query id, what system.query_log says of the
// queries with that id, and which materialized views they fired wrote into
// the requests table (system.query_views_log). Each log is flushed first:
// an INSERT of a moment ago is otherwise in it only after its flush
// interval (7.5 s by default). query_views_log is flushed only for
// queries that, by the query log, fired views (an honest request's INSERT
// seldom does), after the query log was read. A flush that fails or does
// not finish within flushWithin (log_flush.go) is logged and the look
// goes on with what the logs hold: a query the query log does not show
// stays unconfirmed, and one that fired views is marked ViewsUnflushed (so
// it too stays unconfirmed, and says why) until a flush of the views log
// that succeeded covered it — it is never judged on a views log that may
// lack its views' rows.
// Both reads are bounded by time (the logs' primary keys start with the
// date and time) and by the ids.
func (c *ControlPlane) InsertFacts(ctx context.Context, queryIDs []string, since time.Time) (map[string]control.InsertFacts, error) {
	out := map[string]control.InsertFacts{}
	if len(queryIDs) == 0 {
		return out, nil
	}
	if err := c.queryLog.flush(ctx, c.db, queryIDs); err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		c.logger.Warn("confirm requests from the query log as it is", "err", err)
	}
	params := []proto.Parameter{arrayParam("ids", queryIDs),
		Param("since", fmt.Sprint(since.Add(-logSlack).Unix())), Param("requests", c.name+".requests")}
	if err := c.queryFacts(ctx, params, out); err != nil {
		return nil, err
	}
	fired := firedViews(out)
	if len(fired) > 0 {
		onRequests, err := c.dependentsOf(ctx, "requests")
		if err != nil {
			return nil, err
		}
		for _, id := range fired {
			f := out[id]
			f.ViewsOnRequests = onRequests
			out[id] = f
		}
	}
	if err := c.viewsLog.flush(ctx, c.db, fired); err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		c.logger.Warn("judge requests whose INSERT fired views once the views log is flushed", "err", err)
	}
	// ErrUnknownTable: the server keeps no query_views_log, and
	// ViewsLogged stays false — known only once a flush succeeded (it
	// makes the table), so a query that fired views waits for one.
	if err := c.viewFacts(ctx, params, out); err != nil && !ch.IsErr(err, proto.ErrUnknownTable) {
		return nil, err
	}
	markUncovered(out, fired, c.viewsLog.isCovered)
	return out, nil
}

// markUncovered marks ViewsUnflushed the ids of fired (queries that fired
// views) that no flush of the views log that succeeded covered: they stay
// unconfirmed until one does.
func markUncovered(facts map[string]control.InsertFacts, fired []string, covered func(id string) bool) {
	for _, id := range fired {
		if f := facts[id]; !covered(id) {
			f.ViewsUnflushed = true
			facts[id] = f
		}
	}
}

// firedViews are the ids whose queries, by the query log, fired views.
func firedViews(facts map[string]control.InsertFacts) []string {
	var ids []string
	for id, f := range facts {
		for _, l := range f.ByLogin {
			if len(l.ViewsFired) > 0 {
				ids = append(ids, id)
				break
			}
		}
	}
	return ids
}

func (c *ControlPlane) queryFacts(ctx context.Context, params []proto.Parameter, out map[string]control.InsertFacts) error {
	var ids, logins proto.ColStr
	var failed, secondary, wrote proto.ColUInt8
	users, kinds, views := new(proto.ColStr).Array(), new(proto.ColStr).Array(), new(proto.ColStr).Array()
	// Grouped by login too: a client names its query's id itself, and
	// another login's queries with the same id say nothing of this one's.
	q := `SELECT query_id AS id, CAST(authenticated_user AS String) AS login,
		max(type = 'ExceptionWhileProcessing') AS failed,
		groupUniqArray(CAST(user AS String)) AS users,
		max(NOT is_initial_query) AS secondary,
		groupUniqArray(toString(query_kind)) AS kinds,
		min(has(tables, {requests:String})) AS wrote,
		arrayDistinct(arrayFlatten(groupArray(views))) AS views
	FROM system.query_log
	WHERE event_date >= toDate(toDateTime({since:Int64})) AND event_time >= toDateTime({since:Int64})
		AND query_id IN {ids:Array(String)} AND type IN ('QueryFinish', 'ExceptionWhileProcessing')
	GROUP BY query_id, authenticated_user` + quiet
	err := c.db.do(ctx, ch.Query{Body: q, Parameters: params, Result: proto.Results{
		{Name: "id", Data: &ids}, {Name: "login", Data: &logins}, {Name: "failed", Data: &failed}, {Name: "users", Data: users},
		{Name: "secondary", Data: &secondary}, {Name: "kinds", Data: kinds}, {Name: "wrote", Data: &wrote},
		{Name: "views", Data: views}},
		OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < ids.Rows(); i++ {
				f := out[ids.Row(i)]
				if f.ByLogin == nil {
					f.QueryID, f.ByLogin = ids.Row(i), map[string]control.LoginFacts{}
				}
				f.ByLogin[logins.Row(i)] = control.LoginFacts{Failed: failed.Row(i) == 1, Users: users.Row(i),
					Secondary: secondary.Row(i) == 1, Kinds: kinds.Row(i), WroteRequests: wrote.Row(i) == 1, ViewsFired: views.Row(i)}
				out[ids.Row(i)] = f
			}
			return nil
		}})
	if err != nil {
		return fmt.Errorf("read system.query_log: %w", err)
	}
	return nil
}

func (c *ControlPlane) viewFacts(ctx context.Context, params []proto.Parameter, out map[string]control.InsertFacts) error {
	var ids proto.ColStr
	var logged proto.ColUInt64
	views := new(proto.ColStr).Array()
	// Every view row of the id is counted: a query whose views the query
	// log names but this log does not ran with log_query_views = 0, and
	// what those views wrote is unknown.
	q := `SELECT initial_query_id AS id,
		groupUniqArrayIf(view_name, view_target = {requests:String} AND written_rows > 0) AS views,
		count() AS logged
	FROM system.query_views_log
	WHERE event_date >= toDate(toDateTime({since:Int64})) AND event_time >= toDateTime({since:Int64})
		AND initial_query_id IN {ids:Array(String)}
	GROUP BY initial_query_id` + quiet
	err := c.db.do(ctx, ch.Query{Body: q, Parameters: params, Result: proto.Results{{Name: "id", Data: &ids}, {Name: "views", Data: views},
		{Name: "logged", Data: &logged}},
		OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < ids.Rows(); i++ {
				f := out[ids.Row(i)]
				f.ViewsIntoRequests, f.ViewRows = views.Row(i), logged.Row(i)
				out[ids.Row(i)] = f
			}
			return nil
		}})
	if err != nil {
		return fmt.Errorf("read system.query_views_log: %w", err)
	}
	for id, f := range out {
		f.ViewsLogged = true
		out[id] = f
	}
	return nil
}

var _ control.ViewLister = (*ControlPlane)(nil)

// ViewsOnControlTables names the materialized views (and any other
// dependents the server records) whose source is requests, request_log,
// backups or sets. Plain views (request_status, chains) are not recorded as
// dependents: they are read, never fired.
func (c *ControlPlane) ViewsOnControlTables(ctx context.Context) ([]string, error) {
	return c.dependentsOf(ctx, "requests", "request_log", "backups", "sets")
}

// dependentsOf names the dependents the server records of the control
// tables named ("db.view", as the query log names the views a query fired).
func (c *ControlPlane) dependentsOf(ctx context.Context, tables ...string) ([]string, error) {
	var names proto.ColStr
	var out []string
	q := `SELECT DISTINCT concat(d.1, '.', d.2) AS view
	FROM system.tables ARRAY JOIN arrayZip(dependencies_database, dependencies_table) AS d
	WHERE database = {db:String} AND name IN {tables:Array(String)}
	ORDER BY view` + quiet
	err := c.db.do(ctx, ch.Query{Body: q, Parameters: []proto.Parameter{Param("db", c.name), arrayParam("tables", tables)},
		Result: proto.ResultColumn{Name: "view", Data: &names}, OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < names.Rows(); i++ {
				out = append(out, names.Row(i))
			}
			return nil
		}})
	if err != nil {
		return nil, fmt.Errorf("read the views on %s: %w", strings.Join(tables, ", "), err)
	}
	return out, nil
}
