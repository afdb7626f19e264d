package sidecar

import (
	"context"
	"errors"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// ErrNotFound is what every port returns for a missing thing: the store's
// (coord.ErrNotFound) for an object, the database's for an operation or a
// table, so one errors.Is answers for all.
var ErrNotFound = coord.ErrNotFound

// ErrAlreadyExists is what the database returns for a database it was
// asked to create that exists: someone else's, never to be restored into
// as if it were new.
var ErrAlreadyExists = errors.New("already exists")

// Operation is ClickHouse's view of a BACKUP or RESTORE (system.backups).
type Operation struct {
	ID               string
	Name             string
	BaseBackupName   string
	Status           OperationStatus
	Error            string // ClickHouse's code and the first line of its message: what people read
	ErrorDetail      string // the whole text, stack trace included: for the sidecar's log only
	NumFiles         uint64
	TotalSize        uint64
	UncompressedSize uint64
	CompressedSize   uint64
	FilesRead        uint64
	BytesRead        uint64
	StartTime        time.Time
	EndTime          time.Time
}

// OperationStatus is system.backups' status of an operation, as ClickHouse
// spells it: CREATING_BACKUP, BACKUP_CREATED, BACKUP_FAILED, RESTORING,
// RESTORED, …
type OperationStatus string

// OpCreatingBackup is system.backups' status of a BACKUP in progress.
const OpCreatingBackup OperationStatus = "CREATING_BACKUP"

// Operation statuses of system.backups that end an operation.
const (
	OpBackupCreated OperationStatus = "BACKUP_CREATED"
	OpBackupFailed  OperationStatus = "BACKUP_FAILED"
	OpRestored      OperationStatus = "RESTORED"
	OpRestoreFailed OperationStatus = "RESTORE_FAILED"
	OpCancelled     OperationStatus = "BACKUP_CANCELLED"
	OpRestoreCancel OperationStatus = "RESTORE_CANCELLED"
)

// BackupCommand asks ClickHouse to back a database up into a folder of the
// bucket, on a base folder for an incremental. The adapter owns the S3
// endpoint and credentials: the domain never sees a secret.
type BackupCommand struct {
	ID         string
	Database   string
	Folder     string
	BaseFolder string // "" for a full backup
	Tables     model.TableSet
}

// RestoreCommand asks ClickHouse to restore a backup folder as Target: the
// whole database, or some of its tables into Target (which exists).
type RestoreCommand struct {
	ID            string
	Database      string // the database inside the backup
	Target        string
	Folder        string
	Tables        []model.TableRestore // empty: the whole database
	Partitions    []string             // only these partitions (of the one table), as values of its key
	PartitionIDs  []string             // and these, by partition_id (any key's type)
	StructureOnly bool                 // definitions only, no data
	Except        []string             // tables of the backup a whole-database restore leaves out (the restore plan's)
	// NewDatabase: the RESTORE creates Target, and fails if it exists. A
	// RESTORE never writes into a table it did not create either: one
	// that exists under a name it restores makes it fail.
	NewDatabase bool
	// CreateTable is RESTORE's create_table: "" or CreateTableNew (the
	// rule above), or CreateTableIfNotExists, which a later step of a
	// set's restore needs to restore into the tables an earlier step made.
	CreateTable string
	// AllowNonEmptyTables lets the RESTORE add rows to tables holding
	// some: only a set's restore sends it, for a second source shard
	// restored onto the same target shard.
	AllowNonEmptyTables bool
}

// RESTORE's create_table values a RestoreCommand may ask for.
const (
	CreateTableNew         = "create"
	CreateTableIfNotExists = "if not exists"
)

// ErrRefused marks an error ClickHouse answered (an exception), as opposed
// to one reaching it: trying the same statement again gets the same answer.
// Database implementations MUST let errors.Is(err, ErrRefused) say so.
var ErrRefused = errors.New("clickhouse refused the statement")

// ClickHouse is the server as the engine sees it: one port per
// responsibility, each received on its own, so that no implementation is
// one type that does everything and the engine never asks a value by type
// assertion what else it can do. Implementations of each MUST be safe for
// concurrent use; the adapter's parts share one connection pool.
type ClickHouse struct {
	// Database backs up, restores whole, and reads operations and tables.
	Database Database
	// Restore changes a live database for a restore: swaps, partitions,
	// views created stopped.
	Restore RestoreOps
	// Rights tells the sidecar's own rights; nil: a server that cannot
	// tell, whose plans are not checked for them (ClickHouse refuses what
	// the sidecar may not do, and the restore is undone).
	Rights OwnRights
}

// Database is ClickHouse's backups, operations and tables.
type Database interface {
	Version(ctx context.Context) (string, error)
	DatabaseExists(ctx context.Context, name string) (bool, error)
	// TableRows counts the rows of each table of a database.
	TableRows(ctx context.Context, database string) (map[string]uint64, error)
	// TableCount counts every table, view and dictionary of a database,
	// whatever its engine and whether or not it reports rows.
	TableCount(ctx context.Context, database string) (uint64, error)
	// StartBackup sends BACKUP … ASYNC and returns once ClickHouse accepted it.
	StartBackup(ctx context.Context, cmd BackupCommand) error
	// StartRestore sends RESTORE … ASYNC and returns once ClickHouse accepted it.
	StartRestore(ctx context.Context, cmd RestoreCommand) error
	// Operation reads system.backups by operation id; ErrNotFound if absent.
	Operation(ctx context.Context, id string) (Operation, error)
	// RecentOperations lists the newest operations, newest first.
	RecentOperations(ctx context.Context, limit int) ([]Operation, error)
	DropDatabase(ctx context.Context, name string) error
	// CreateDatabase creates an empty database (a partial restore's
	// target); ErrAlreadyExists when it exists.
	CreateDatabase(ctx context.Context, name string) error
	// DropTable drops a table (a restore that replaces it).
	DropTable(ctx context.Context, database, table string) error
	// PartRows sums the physical rows of each table's active parts (tables
	// of the MergeTree family only).
	PartRows(ctx context.Context, database string) (map[string]uint64, error)
	// CheckTable runs CHECK TABLE: "" when it passed or the engine has no
	// check, else ClickHouse's answer.
	CheckTable(ctx context.Context, database, table string) (string, error)
}

// RestoreOps are what a restore needs to change a live database safely:
// it restores beside a table and swaps it in, or replaces partitions, and
// removes what it created when it fails.
type RestoreOps interface {
	// DatabaseEngine is a database's engine (Atomic, Replicated, Memory, …).
	DatabaseEngine(ctx context.Context, database string) (string, error)
	// TableNames lists every table, view and dictionary of a database.
	TableNames(ctx context.Context, database string) ([]string, error)
	// Objects reads the UUIDs of a database and of its tables: a restore
	// drops only what still has the UUID it recorded when it created it.
	Objects(ctx context.Context, database string) (Objects, error)
	// ExchangeTables swaps the names of two tables of a database atomically.
	ExchangeTables(ctx context.Context, database, a, b string) error
	// TablePartitions lists a table's active partitions with their rows.
	TablePartitions(ctx context.Context, database, table string) ([]model.Partition, error)
	// ReplacePartition replaces a partition (by id) of table with the same
	// partition of from, a table of the same database and structure.
	ReplacePartition(ctx context.Context, database, table, partitionID, from string) error
	// TableColumns lists a table's physical columns (not ALIAS or
	// EPHEMERAL ones), in order: a partition replace needs the same on
	// both sides.
	TableColumns(ctx context.Context, database, table string) ([]model.Column, error)
	// CreateStoppedView runs create (a CREATE MATERIALIZED VIEW … EMPTY of
	// database.view) and stops the view at once; it fails if the view
	// refreshed in between.
	CreateStoppedView(ctx context.Context, database, view, create string) error
}

// OwnRights tells which global rights the sidecar's own user holds, as
// ClickHouse evaluates them (grants and roles).
type OwnRights interface {
	// OwnUser is the user the sidecar logs in as.
	OwnUser() string
	// HoldsGlobal says whether the sidecar's user holds access on object
	// (a user's name for SET DEFINER, "" for ALLOW SQL SECURITY NONE).
	HoldsGlobal(ctx context.Context, access, object string) (bool, error)
	// HoldsOnDatabase says whether it holds access on every table of
	// database.
	HoldsOnDatabase(ctx context.Context, access, database string) (bool, error)
}

// Objects are the UUIDs of a database (UUID, "" when it does not exist)
// and of each of its tables, views and dictionaries (by name).
type Objects struct {
	UUID   string
	Tables map[string]Object
}

// Object is one table, view or dictionary: its UUID, and when its
// definition was last written (metadata_modification_time, to the second):
// its creation, for one a RESTORE created and nobody altered since.
type Object struct {
	UUID     string
	Modified time.Time
}

// Notifier delivers events. It MUST NOT change an operation's outcome: the
// Service logs its errors and goes on.
type Notifier interface {
	Notify(ctx context.Context, e Event) error
}

// Event is what notifications say about an operation.
type Event struct {
	Event    string `json:"event"` // backup_completed, backup_failed, restore_…, cleanup_…
	Database string `json:"database"`
	Backup   string `json:"backup"`
	Kind     string `json:"kind"`
	// Size is the bytes the backup added to the bucket (StoredBytes, kept
	// under its first name); LogicalBytes what a restore of it brings back,
	// its bases' files included.
	Size            uint64  `json:"size"`
	StoredBytes     uint64  `json:"stored_bytes"`
	LogicalBytes    uint64  `json:"logical_bytes"`
	DurationSeconds float64 `json:"duration_seconds"`
	Error           string  `json:"error"`
	RequestID       string  `json:"request_id"`
	RequestedBy     string  `json:"requested_by"`
	// Copy is the [[copy]] target the operation acted on ("" = the
	// primary bucket): a cleanup of a copy must not read as the primary's.
	Copy string `json:"copy,omitempty"`
}

// Succeeded reports whether the event is a success.
func (e Event) Succeeded() bool { return e.Error == "" }
