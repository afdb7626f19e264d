package control

import (
	"context"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
)

// ControlPlane is the SQL side of the sidecar: the tables users write
// requests to and read status from. Implementations MUST be safe for
// concurrent use.
type ControlPlane interface {
	// Init creates the control database, tables and views (idempotent).
	Init(ctx context.Context) error
	// PendingRequests returns requests made after since with no terminal
	// state, oldest first: at most PendingPerRequester of each requester and
	// PendingPerRead in all, so one user's flood never hides another's
	// request and a read stays bounded.
	PendingRequests(ctx context.Context, since time.Time) ([]PendingRequest, error)
	// PendingAfter reads pending requests as PendingRequests does, fully
	// or on from a place in the insert order (see ReadFrom, ReadPage): a
	// read costs about the rows it takes in, not the rows the table holds.
	PendingAfter(ctx context.Context, from ReadFrom) (ReadPage, error)
	// RequestCount counts the rows of the requests table, cheaply: between
	// full reads, a changed count tells the sidecar a request arrived.
	RequestCount(ctx context.Context) (uint64, error)
	// AppendLog adds request_log rows.
	AppendLog(ctx context.Context, entries ...LogEntry) error
	// InsertRequest adds a request as the sidecar's own user, signed (see
	// Sign), and returns its id.
	InsertRequest(ctx context.Context, r Request) (string, error)
	// InsertFacts reads what the server logged of the queries with these
	// ids, made at or after since (system.query_log and
	// system.query_views_log, flushed first), by query id.
	InsertFacts(ctx context.Context, queryIDs []string, since time.Time) (map[string]InsertFacts, error)
	// Status reads one request's row of request_status; ErrNotFound if absent.
	Status(ctx context.Context, id string) (RequestStatus, error)
	// ActiveRequests reads the requests queued or running, oldest first, at
	// most limit.
	ActiveRequests(ctx context.Context, limit int) ([]RequestStatus, error)
	// CatalogRows reads the backups table of a database (FINAL).
	CatalogRows(ctx context.Context, database string) ([]CatalogRow, error)
	// WriteCatalog adds or replaces rows of the backups table.
	WriteCatalog(ctx context.Context, rows []CatalogRow) error
	// SetRows reads the sets table of a database (FINAL), oldest first.
	SetRows(ctx context.Context, database string) ([]SetSummary, error)
	// WriteSets adds or replaces rows of the sets table.
	WriteSets(ctx context.Context, rows []SetSummary) error
	// ExpireDeleted removes every row of each backup and set whose newest
	// row says deleted and was written before before.
	ExpireDeleted(ctx context.Context, before time.Time) error
}

// Privilege is what a request needs on a database.
type Privilege string

const (
	PrivBackup         Privilege = "BACKUP"
	PrivSelect         Privilege = "SELECT"
	PrivCreate         Privilege = "CREATE TABLE"
	PrivCreateDatabase Privilege = "CREATE DATABASE"
	PrivInsert         Privilege = "INSERT"
	PrivDropTable      Privilege = "DROP TABLE"
	PrivAlterDelete    Privilege = "ALTER DELETE"
)

// Authorizer reads what ClickHouse's own grants let a user do (directly
// or through roles), and the row policies that restrict them.
type Authorizer interface {
	// Grants reads user's grants now. One read answers every right one
	// check asks (an admission, the check again before a queued request
	// starts, an include's permit); the runner keeps it a second to refuse
	// (grants.go).
	Grants(ctx context.Context, user string) (Grants, error)
	// RowPolicies names the row policies that restrict what user reads of
	// the tables of database (every table when tables is empty).
	RowPolicies(ctx context.Context, user, database string, tables []string) ([]string, error)
}

// Grants are one user's grants as one read found them, answered in
// memory as ClickHouse evaluates them.
type Grants interface {
	// Can says whether the user holds p on table of database, or with
	// table "" on every table of it.
	Can(p Privilege, database, table string) bool
}

// GrantsFunc is Grants answered by a function.
type GrantsFunc func(p Privilege, database, table string) bool

// Can calls f.
func (f GrantsFunc) Can(p Privilege, database, table string) bool { return f(p, database, table) }

// Observer is told what happens, for metrics. Methods must not block.
type Observer interface {
	RequestState(action string, state State)
	BackupFinished(database, kind string, ok bool, took time.Duration, size uint64)
	ChainDepth(database string, depth int)
	// CheckFinished is told each check's outcome: good, or a backup broken.
	CheckFinished(database string, good bool)
	// VerifyFinished is told each verify's outcome and how long its
	// restore took (the measured recovery time).
	VerifyFinished(database string, ok bool, restore time.Duration)
	// NewestBackup is told the time of a database's newest completed backup.
	NewestBackup(database string, at time.Time)
	// SetSealed is told, on a cluster node, how many shards of a sealed
	// set ended in each state (succeeded, failed, rejected, missing).
	SetSealed(database string, shards map[setmodel.ShardState]int)
	// FullForced is told of a full taken instead of the incremental its
	// chain would have had (a broken chain, an incremental grown too big).
	FullForced(database string)
}

type noObserver struct{}

func (noObserver) RequestState(string, State)                                 {}
func (noObserver) BackupFinished(string, string, bool, time.Duration, uint64) {}
func (noObserver) ChainDepth(string, int)                                     {}
func (noObserver) CheckFinished(string, bool)                                 {}
func (noObserver) VerifyFinished(string, bool, time.Duration)                 {}
func (noObserver) NewestBackup(string, time.Time)                             {}
func (noObserver) SetSealed(string, map[setmodel.ShardState]int)              {}
func (noObserver) FullForced(string)                                          {}
