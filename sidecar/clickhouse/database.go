// Package clickhouse is the sidecar.Database adapter: ClickHouse over the
// native protocol with ch-go. It is the only package that writes SQL.
package clickhouse

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/chpool"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

// Config says how to reach ClickHouse and how ClickHouse reaches S3.
type Config struct {
	Addr     string
	User     string
	Password string
	Secure   bool
	S3       S3Target
	Backup   BackupSettings
	// MaxConns bounds the pool of connections (default, and least, 8).
	MaxConns int
	// Secrets are other keys ClickHouse may quote back (the [[copy]]
	// targets': system.backups lists the RESTOREs read from them), taken
	// out of every text as the S3 target's are.
	Secrets []string
}

// conn is what the adapter's parts share: a pool of native-protocol
// connections, the sidecar's own login, and the redactor of secrets.
type conn struct {
	pool   *chpool.Pool
	opts   ch.Options // how the pool dials: a query that waits long dials its own (replication.go)
	user   string     // the sidecar's own login
	redact *redactor
}

// Database is ClickHouse's backups, operations and tables
// (sidecar.Database), and the way to the adapter's other parts, which
// share its connections: RestoreOps and Rights (Ports).
type Database struct {
	*conn
	target  S3Target
	backup  BackupSettings
	restore *RestoreOps
	rights  *Rights
	reads   *operationReads // of system.backups, shared by the waits at once
}

var _ sidecar.Database = (*Database)(nil)

// Open connects to ClickHouse. Connections are made as needed; Open checks
// that one can be.
func Open(ctx context.Context, cfg Config) (*Database, error) {
	opts := ch.Options{Address: cfg.Addr, User: cfg.User, Password: cfg.Password,
		ClientName: "clickvault", DialTimeout: 10 * time.Second}
	if cfg.Secure {
		opts.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	r := newRedactor(append([]string{cfg.Password, cfg.S3.AccessKey, cfg.S3.SecretKey}, cfg.Secrets...)...)
	// At least eight connections: a request sends some queries at once,
	// and the request probe and operation polls must not queue behind them.
	// A round backing up several databases at once asks for more.
	pool, err := chpool.Dial(ctx, chpool.Options{ClientOptions: opts, MaxConns: int32(min(max(cfg.MaxConns, 8), 256))})
	if err != nil {
		return nil, fmt.Errorf("connect to clickhouse at %s: %s", cfg.Addr, r.redact(err.Error()))
	}
	c := &conn{pool: pool, opts: opts, user: cfg.User, redact: r}
	return &Database{conn: c, target: cfg.S3, backup: cfg.Backup, restore: &RestoreOps{c}, rights: &Rights{c},
		reads: newOperationReads(c.readOperations)}, nil
}

// Ports is ClickHouse as the engine receives it: this Database, its
// RestoreOps and its Rights.
func (d *Database) Ports() sidecar.ClickHouse {
	return sidecar.ClickHouse{Database: d, Restore: d.restore, Rights: d.rights}
}

// Rights is the part that reads grants, the sidecar's own rights and row
// policies: the runner's control.Authorizer.
func (d *Database) Rights() *Rights { return d.rights }

// Replication is the part that reads system.replicas and runs SYSTEM SYNC
// REPLICA: a cluster node's cluster.Replication.
func (d *Database) Replication() *Replication { return &Replication{d.conn} }

// Close closes every connection.
func (d *Database) Close() { d.pool.Close() }

// do runs a query; its error never carries a secret.
func (c *conn) do(ctx context.Context, q ch.Query) error {
	if err := c.pool.Do(ctx, q); err != nil {
		return c.redact.wrap(err)
	}
	return nil
}

// exec runs a statement and discards rows it returns.
func (c *conn) exec(ctx context.Context, query string, params ...proto.Parameter) error {
	var discard proto.Results
	return c.do(ctx, ch.Query{Body: query, Parameters: params, Result: discard.Auto(),
		OnResult: func(context.Context, proto.Block) error { return nil }})
}

// Exec runs a statement and discards rows it returns.
func (d *Database) Exec(ctx context.Context, query string, params ...proto.Parameter) error {
	return d.exec(ctx, query, params...)
}

// Ping checks a connection can be made and used.
func (d *Database) Ping(ctx context.Context) error {
	return d.Exec(ctx, "SELECT 1")
}

// Param makes a query parameter for {name:Type}, quoted as ClickHouse's
// native protocol expects and escaped, so any text is safe.
func Param(name, value string) proto.Parameter {
	return proto.Parameter{Key: name, Value: QuoteString(paramEscaper.Replace(value))}
}

func (d *Database) Version(ctx context.Context) (string, error) {
	var v proto.ColStr
	if err := d.do(ctx, ch.Query{Body: "SELECT version()", Result: proto.ResultColumn{Data: &v}}); err != nil {
		return "", fmt.Errorf("read version: %w", err)
	}
	return v.Row(0), nil
}

func (d *Database) DatabaseExists(ctx context.Context, name string) (bool, error) {
	var n proto.ColUInt64
	err := d.do(ctx, ch.Query{Body: "SELECT count() FROM system.databases WHERE name = {name:String}",
		Parameters: []proto.Parameter{Param("name", name)}, Result: proto.ResultColumn{Data: &n}})
	if err != nil {
		return false, fmt.Errorf("look up database %s: %w", name, err)
	}
	return n.Row(0) > 0, nil
}

// TableCount counts everything system.tables lists in database: tables of
// any engine (Log, TinyLog and Memory report no row count), views and
// dictionaries.
func (d *Database) TableCount(ctx context.Context, database string) (uint64, error) {
	var n proto.ColUInt64
	err := d.do(ctx, ch.Query{Body: "SELECT count() FROM system.tables WHERE database = {db:String} AND NOT is_temporary",
		Parameters: []proto.Parameter{Param("db", database)}, Result: proto.ResultColumn{Data: &n}})
	if err != nil {
		return 0, fmt.Errorf("count tables of %s: %w", database, err)
	}
	return n.Row(0), nil
}

// TableRows counts the rows of each table of database as SELECT count()
// would. system.tables' total_rows is exact for MergeTree parts without
// lightweight deletes and is used for those; a table with rows deleted by a
// lightweight DELETE (still in its parts, masked) is counted with count().
// Views and tables without a row count are left out.
func (d *Database) TableRows(ctx context.Context, database string) (map[string]uint64, error) {
	var names proto.ColStr
	var rows proto.ColUInt64
	var masked proto.ColUInt8
	out := map[string]uint64{}
	var recount []string
	err := d.do(ctx, ch.Query{
		Body: `SELECT t.name AS name, assumeNotNull(t.total_rows) AS rows,
		              toUInt8(t.name IN (SELECT table FROM system.parts
		                  WHERE database = {db:String} AND active AND has_lightweight_delete)) AS masked
		       FROM system.tables AS t
		       WHERE t.database = {db:String} AND t.total_rows IS NOT NULL AND NOT t.is_temporary`,
		Parameters: []proto.Parameter{Param("db", database)},
		Result:     proto.Results{{Name: "name", Data: &names}, {Name: "rows", Data: &rows}, {Name: "masked", Data: &masked}},
		OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < names.Rows(); i++ {
				if masked.Row(i) == 1 {
					recount = append(recount, names.Row(i))
				} else {
					out[names.Row(i)] = rows.Row(i)
				}
			}
			return nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("count rows of %s: %w", database, err)
	}
	if err := d.countRows(ctx, database, recount, out); err != nil {
		return nil, err
	}
	return out, nil
}

// countRows runs SELECT count() on tables of database, many per query.
func (d *Database) countRows(ctx context.Context, database string, tables []string, out map[string]uint64) error {
	const perQuery = 100
	for len(tables) > 0 {
		batch := tables[:min(perQuery, len(tables))]
		tables = tables[len(batch):]
		parts := make([]string, len(batch))
		for i, t := range batch {
			parts[i] = fmt.Sprintf("SELECT %s AS name, count() AS rows FROM %s.%s", QuoteString(t), QuoteIdent(database), QuoteIdent(t))
		}
		err := nameRows(ctx, d.conn, strings.Join(parts, " UNION ALL "), nil, out)
		if err != nil {
			return fmt.Errorf("count rows of %s: %w", database, err)
		}
	}
	return nil
}

// nameRows runs a query whose result is (name String, rows UInt64) and
// sets out[name] = rows for each row. A function, not a method: it is a
// helper of the queries, not part of what Database offers.
func nameRows(ctx context.Context, d *conn, body string, params []proto.Parameter, out map[string]uint64) error {
	var names proto.ColStr
	var rows proto.ColUInt64
	return d.do(ctx, ch.Query{Body: body, Parameters: params,
		Result: proto.Results{{Name: "name", Data: &names}, {Name: "rows", Data: &rows}},
		OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < names.Rows(); i++ {
				out[names.Row(i)] = rows.Row(i)
			}
			return nil
		}})
}

func (d *Database) StartBackup(ctx context.Context, cmd sidecar.BackupCommand) error {
	sql, err := BuildBackupSQL(cmd, d.target, d.backup)
	if err != nil {
		return err
	}
	return d.Exec(ctx, sql)
}

func (d *Database) StartRestore(ctx context.Context, cmd sidecar.RestoreCommand) error {
	sql, err := BuildRestoreSQL(cmd, d.target, d.backup)
	if err != nil {
		return err
	}
	return d.Exec(ctx, sql)
}

func (d *Database) DropDatabase(ctx context.Context, name string) error {
	if err := model.ValidateIdentifier("database", name); err != nil {
		return err
	}
	return d.Exec(ctx, "DROP DATABASE IF EXISTS "+QuoteIdent(name)+" SYNC")
}

func (d *Database) CreateDatabase(ctx context.Context, name string) error {
	if err := model.ValidateIdentifier("database", name); err != nil {
		return err
	}
	// Never IF NOT EXISTS: a database someone else created is not one a
	// restore may fill and, failing, drop.
	err := d.Exec(ctx, "CREATE DATABASE "+QuoteIdent(name))
	if ch.IsErr(err, proto.ErrDatabaseAlreadyExists) {
		return fmt.Errorf("%w: %w", sidecar.ErrAlreadyExists, err)
	}
	return err
}

func (d *Database) DropTable(ctx context.Context, database, table string) error {
	for what, name := range map[string]string{"database": database, "table": table} {
		if err := model.ValidateIdentifier(what, name); err != nil {
			return err
		}
	}
	name := QuoteIdent(database) + "." + QuoteIdent(table)
	err := d.Exec(ctx, "DROP TABLE IF EXISTS "+name+" SYNC")
	if ch.IsErr(err, proto.ErrCannotDetachDictionaryAsTable) { // a dictionary a restore created
		return d.Exec(ctx, "DROP DICTIONARY IF EXISTS "+name+" SYNC")
	}
	return err
}

const operationColumns = `id, name, base_backup_name, toString(status) AS status, error,
	num_files, total_size, uncompressed_size, compressed_size, files_read, bytes_read,
	toDateTime64(start_time, 3, 'UTC') AS start, toDateTime64(end_time, 3, 'UTC') AS end`

// Operation reads one operation's row of system.backups, in one read
// with the other operations asked for at the same time (operationReads,
// shared with the Databases of copy targets: it reads the rows as they
// are, and each Database takes its own secrets out).
func (d *Database) Operation(ctx context.Context, id string) (sidecar.Operation, error) {
	op, err := d.reads.read(ctx, id)
	if err != nil {
		return sidecar.Operation{}, d.redact.wrap(err)
	}
	r := d.redact
	op.Name, op.BaseBackupName = r.redact(op.Name), r.redact(op.BaseBackupName)
	op.ErrorDetail = r.redact(op.ErrorDetail)
	op.Error = ErrorHeadline(op.ErrorDetail) // from the redacted text: a trimmed secret would not match
	return op, nil
}

// readOperations reads the operations ids of system.backups, newest first,
// their texts as ClickHouse has them (Operation redacts them).
func (c *conn) readOperations(ctx context.Context, ids []string) ([]sidecar.Operation, error) {
	return c.operations(ctx, newRedactor(), "SELECT "+operationColumns+" FROM system.backups WHERE id IN {ids:Array(String)}",
		arrayParam("ids", ids))
}

func (d *Database) RecentOperations(ctx context.Context, limit int) ([]sidecar.Operation, error) {
	ops, err := d.operations(ctx, d.redact, fmt.Sprintf("SELECT %s FROM system.backups ORDER BY start_time DESC LIMIT %d",
		operationColumns, max(limit, 1)))
	if err != nil {
		return nil, fmt.Errorf("read recent operations: %w", err)
	}
	return ops, nil
}

// quiet, appended to a query, keeps it out of system.query_log: the operation
// status and the request count are read many times a second, and would
// otherwise bury everything else there. A SETTINGS clause rather than
// protocol settings, so the server applies it as part of the one statement.
const quiet = " SETTINGS log_queries = 0"

// operations runs query, a SELECT of operationColumns from system.backups,
// its texts redacted by r.
func (c *conn) operations(ctx context.Context, r *redactor, query string, params ...proto.Parameter) ([]sidecar.Operation, error) {
	cols := newOperationColumns()
	var out []sidecar.Operation
	err := c.do(ctx, ch.Query{Body: query + quiet, Parameters: params, Result: cols.results(),
		OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < cols.id.Rows(); i++ {
				out = append(out, cols.row(i, r))
			}
			return nil
		}})
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartTime.After(out[j].StartTime) })
	return out, err
}

// redactor removes secrets from text ClickHouse sends back: its errors can
// quote the S3() arguments of the statement that failed.
type redactor struct{ secrets []string }

func newRedactor(secrets ...string) *redactor {
	r := &redactor{}
	for _, s := range secrets {
		if s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
	// Longest first, so a secret that contains another is replaced whole.
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	return r
}

func (r *redactor) redact(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, "[REDACTED]")
	}
	return s
}

// redactedError keeps the error chain (so ch.IsErr still works) but prints
// without secrets.
type redactedError struct {
	text    string
	err     error
	refused bool // ClickHouse answered with an exception
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// Is lets errors.Is(err, sidecar.ErrRefused) tell an exception ClickHouse
// answered from a failure to reach it.
func (e *redactedError) Is(target error) bool { return e.refused && target == sidecar.ErrRefused }

func (r *redactor) wrap(err error) error {
	var exc *ch.Exception
	if errors.As(err, &exc) {
		return &redactedError{text: fmt.Sprintf("clickhouse error %d (%s): %s", exc.Code, exc.Code, r.redact(exc.Message)), err: err, refused: true}
	}
	return &redactedError{text: r.redact(err.Error()), err: err}
}
