package clickhouse

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/model"
	cvsql "github.com/clickvault/clickvault/sql"
)

// ControlPlane is the control.ControlPlane: the tables of the control database.
type ControlPlane struct {
	db       *Database
	name     string // the control database, validated
	proofKey []byte // signs the rows the sidecar inserts (control.Sign)
	ownUser  string
	// retentionDays keeps rows of requests and request_log (their TTL).
	retentionDays int

	// flush the logs that confirm requests (insert_log.go)
	queryLog *queryLogFlusher
	viewsLog *viewsLogFlusher
	logger   *slog.Logger

	// the rows of request_log and backups written at once by several
	// requests, each batch one INSERT (control_writes.go)
	logRows     *batches[control.LogEntry, struct{}]
	catalogRows *batches[stampedRow, struct{}]
	// the reads of the backups table asked for at once, one query
	catalogReads *batches[string, map[string][]control.CatalogRow]
}

var _ control.ControlPlane = (*ControlPlane)(nil)

// NewControlPlane returns the control plane in database name.
func NewControlPlane(db *Database, name string) (*ControlPlane, error) {
	if err := model.ValidateIdentifier("control database", name); err != nil {
		return nil, err
	}
	c := &ControlPlane{db: db, name: name, retentionDays: defaultRetentionDays,
		queryLog: &queryLogFlusher{logFlusher: logFlusher{name: "query_log"}},
		viewsLog: &viewsLogFlusher{logFlusher: logFlusher{name: "query_views_log"}},
		logger:   slog.New(slog.DiscardHandler)}
	c.logRows, c.catalogRows = newBatches(c.insertLog), newBatches(c.insertCatalog)
	c.catalogReads = newBatches(c.readCatalogRows)
	return c, nil
}

// WithLogger logs what the control plane works around (a flush of the
// query logs that did not finish) to logger.
func (c *ControlPlane) WithLogger(logger *slog.Logger) *ControlPlane {
	c.logger = logger
	return c
}

// defaultRetentionDays is control.DefaultRequestRetention in days.
const defaultRetentionDays = int(control.DefaultRequestRetention / (24 * time.Hour))

// WithRequestRetention keeps rows of requests and request_log days days
// (the TTL that Init sets); days < 1 keeps the default.
func (c *ControlPlane) WithRequestRetention(days int) *ControlPlane {
	if days >= 1 {
		c.retentionDays = days
	}
	return c
}

// WithProof makes InsertRequest sign its rows as ownUser with key (see
// control.ProofKey): only rows with a valid proof get the operator's
// exemptions.
func (c *ControlPlane) WithProof(ownUser string, key []byte) *ControlPlane {
	c.ownUser, c.proofKey = ownUser, key
	return c
}

// DDL returns the control plane's statements for database name, in order,
// with rows of requests and request_log kept retentionDays (their TTL).
func DDL(name string, retentionDays int) ([]string, error) {
	files, err := fs.Glob(cvsql.Files, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list DDL: %w", err)
	}
	sort.Strings(files)
	var out []string
	for _, f := range files {
		body, err := fs.ReadFile(cvsql.Files, f)
		if err != nil {
			return nil, fmt.Errorf("read DDL %s: %w", f, err)
		}
		text := strings.ReplaceAll(string(body), "{{db}}", QuoteIdent(name))
		text = strings.ReplaceAll(text, "{{request_retention_days}}", strconv.Itoa(retentionDays))
		out = append(out, strings.TrimSpace(text))
	}
	return out, nil
}

func (c *ControlPlane) Init(ctx context.Context) error {
	stmts, err := DDL(c.name, c.retentionDays)
	if err != nil {
		return err
	}
	for _, s := range stmts {
		if err := c.db.Exec(ctx, s); err != nil {
			return fmt.Errorf("apply DDL: %w", err)
		}
	}
	return nil
}

func (c *ControlPlane) table(name string) string { return QuoteIdent(c.name) + "." + QuoteIdent(name) }

// cut bounds a text column read from a request row.
func cut(column string) string {
	return fmt.Sprintf("substring(%s, 1, %d)", column, control.MaxField+1)
}

// cutList bounds a list column read from a request row: a list over
// MaxList names or MaxListBytes bytes is read as [TooLong], and each name is
// cut one byte past MaxField.
func cutList(column string) string {
	return fmt.Sprintf("if(length(%[1]s) > %[2]d OR arraySum(arrayMap(x -> length(x), %[1]s)) > %[3]d, [%[4]s], arrayMap(x -> substring(x, 1, %[5]d), %[1]s))",
		column, control.MaxList, control.MaxListBytes, QuoteString(control.TooLong), control.MaxField+1)
}

func (c *ControlPlane) InsertRequest(ctx context.Context, r control.Request) (string, error) {
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	id := r.ID
	r.Kind = orDefault(r.Kind, "auto")
	if r.AsOf != nil { // stored to the millisecond, and signed as it is read back
		t := r.AsOf.UTC().Truncate(time.Millisecond)
		r.AsOf = &t
	}
	asOf := `\N`
	if r.AsOf != nil {
		asOf = r.AsOf.UTC().Format("2006-01-02 15:04:05.000")
	}
	q := fmt.Sprintf(`INSERT INTO %s (id, action, database, kind, backup, as_of, target, dry_run, via,
		tables, exclude_tables, partitions, mode, consumers, shard, source, proof)
		SELECT {id:UUID}, {action:String}, {database:String}, {kind:String}, {backup:String},
		       {as_of:Nullable(DateTime64(3, 'UTC'))}, {target:String}, {dry_run:Bool}, {via:String},
		       {tables:Array(String)}, {exclude_tables:Array(String)}, {partitions:Array(String)}, {mode:String},
		       {consumers:String}, {shard:UInt16}, {source:String}, {proof:String}`, c.table("requests"))
	params := []proto.Parameter{Param("id", id), Param("action", string(r.Action)), Param("database", r.Database),
		Param("kind", orDefault(r.Kind, "auto")), Param("backup", r.Backup), Param("target", r.Target),
		Param("dry_run", fmt.Sprint(r.DryRun)), {Key: "as_of", Value: QuoteString(asOf)}, Param("via", r.Via),
		arrayParam("tables", r.Tables), arrayParam("exclude_tables", r.ExcludeTables),
		arrayParam("partitions", r.Partitions), Param("mode", r.Mode), Param("consumers", r.Consumers),
		Param("shard", fmt.Sprint(r.Shard)), Param("source", r.Source),
		Param("proof", control.Sign(c.proofKey, r, c.ownUser))}
	if err := c.db.Exec(ctx, q, params...); err != nil {
		return "", fmt.Errorf("insert request: %w", err)
	}
	return id, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (c *ControlPlane) Status(ctx context.Context, id string) (control.RequestStatus, error) {
	if !control.CanonicalID(id) {
		return control.RequestStatus{}, fmt.Errorf("request id is not a UUID in its canonical form: %w", sidecar.ErrNotFound)
	}
	// The output column is rid, not id: an alias id would shadow the UUID
	// column in WHERE.
	q := fmt.Sprintf(`SELECT toString(s.id) AS rid, CAST(s.action AS String) AS action, s.database AS database,
		CAST(s.kind AS String) AS kind, CAST(s.state AS String) AS state, s.backup AS backup, s.message AS message,
		s.num_files AS num_files, s.total_size AS total_size, s.bytes_read AS bytes_read, s.requested_by AS requested_by, s.via AS via,
		toUnixTimestamp64Milli(s.requested_at) AS requested_at, toUnixTimestamp64Micro(s.updated_at) AS updated_at
	FROM %s AS s WHERE s.id = {id:UUID} LIMIT 1`, c.table("request_status"))
	cols := newStatusColumns()
	if err := c.db.do(ctx, ch.Query{Body: q, Parameters: []proto.Parameter{Param("id", id)}, Result: cols.results()}); err != nil {
		return control.RequestStatus{}, fmt.Errorf("read status of request %s: %w", id, err)
	}
	if cols.id.Rows() == 0 {
		return control.RequestStatus{}, fmt.Errorf("request %s: %w", id, sidecar.ErrNotFound)
	}
	return cols.row(0), nil
}

// ActiveRequests reads the queued and running requests of the last day
// from request_status.
func (c *ControlPlane) ActiveRequests(ctx context.Context, limit int) ([]control.RequestStatus, error) {
	q := fmt.Sprintf(`SELECT toString(s.id) AS rid, CAST(s.action AS String) AS action, s.database AS database,
		CAST(s.kind AS String) AS kind, CAST(s.state AS String) AS state, s.backup AS backup, s.message AS message,
		s.num_files AS num_files, s.total_size AS total_size, s.bytes_read AS bytes_read, s.requested_by AS requested_by, s.via AS via,
		toUnixTimestamp64Milli(s.requested_at) AS requested_at, toUnixTimestamp64Micro(s.updated_at) AS updated_at
	FROM %s AS s WHERE s.state IN ('queued', 'running') AND s.requested_at > now() - INTERVAL 1 DAY
	ORDER BY s.requested_at LIMIT %d`, c.table("request_status"), max(limit, 1))
	cols := newStatusColumns()
	var out []control.RequestStatus
	err := c.db.do(ctx, ch.Query{Body: q, Result: cols.results(), OnResult: func(context.Context, proto.Block) error {
		for i := 0; i < cols.id.Rows(); i++ {
			out = append(out, cols.row(i))
		}
		return nil
	}})
	if err != nil {
		return nil, fmt.Errorf("read active requests: %w", err)
	}
	return out, nil
}

// RequestCount counts the rows of the requests table. ClickHouse answers
// a bare count() from part metadata without reading rows, which makes it
// about as cheap as SELECT 1 and fit to run many times per poll interval.
func (c *ControlPlane) RequestCount(ctx context.Context) (uint64, error) {
	var n proto.ColUInt64
	if err := c.db.do(ctx, ch.Query{Body: "SELECT count() FROM " + c.table("requests") + quiet,
		Result: proto.ResultColumn{Data: &n}}); err != nil {
		return 0, fmt.Errorf("count requests: %w", err)
	}
	if n.Rows() == 0 {
		return 0, nil
	}
	return n.Row(0), nil
}
