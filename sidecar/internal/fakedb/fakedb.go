// Package fakedb is an in-memory ClickHouse for unit tests: its
// sidecar.Database (DB) and sidecar.RestoreOps (RestoreOps) ports. It keeps
// ClickHouse's contract as the engine relies on it: BACKUP writes its
// files and, last, the .backup object into the store; an incremental needs
// its base's .backup; RESTORE creates the target's tables from a backup and
// refuses tables that exist; a serial server (NewSerial) refuses a
// BACKUP while another is in it; system.backups answers by operation id until
// Forget (a server restart) clears it.
package fakedb

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// DB is a ClickHouse server in memory, safe for concurrent use: its
// Database port, and the controls a test sets the server up with. Its
// other port, RestoreOps, shares its state (Ports).
type DB struct{ state *state }

// state is the server's memory, which its ports share.
type state struct {
	store coord.ObjectStore

	mu        sync.Mutex
	databases map[string]map[string]uint64 // database → table → rows
	ops       map[string]*sidecar.Operation
	order     []string
	backups   map[string]*manifest // by folder
	damaged   map[string]bool
	failNext  string
	failDrop  string // database.table whose next DROP TABLE fails
	hold      bool
	serial    bool // backups.allow_concurrent_backups = false (NewSerial)
	restore   restoreState
}

var _ sidecar.Database = (*DB)(nil)

// New is a server whose BACKUP and RESTORE use store as their bucket.
func New(store coord.ObjectStore) *DB {
	return &DB{&state{store: store, databases: map[string]map[string]uint64{}, ops: map[string]*sidecar.Operation{},
		backups: map[string]*manifest{}, damaged: map[string]bool{}, restore: newRestoreState()}}
}

// Ports is the server as the engine receives it. It has no Rights port:
// the engine does not check the sidecar's own rights on it.
func (d *DB) Ports() sidecar.ClickHouse {
	return sidecar.ClickHouse{Database: d, Restore: &RestoreOps{d.state}}
}

// manifest is what the fake remembers of a backup it wrote: ClickHouse
// reads its tables back from the files; the fake keeps them in memory, and
// writes the files and a .backup manifest in ClickHouse's format.
type manifest struct {
	Database string
	Tables   map[string]uint64
	Parts    map[string]map[string]uint64 // table → partition id → rows, for partitioned tables
	files    []file
}

// Create makes (or replaces) a database with tables of these row counts.
func (d *DB) Create(database string, tables map[string]uint64) {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	for t := range d.state.databases[database] {
		d.state.restore.forget(database, t)
	}
	d.state.databases[database] = maps.Clone(tables)
	if d.state.databases[database] == nil {
		d.state.databases[database] = map[string]uint64{}
	}
}

// Tables returns a copy of a database's tables, nil if it does not exist.
func (d *DB) Tables(database string) map[string]uint64 {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	return maps.Clone(d.state.databases[database])
}

// FailNextBackup makes the next BACKUP end with BACKUP_FAILED and msg.
func (d *DB) FailNextBackup(msg string) {
	d.state.mu.Lock()
	d.state.failNext = msg
	d.state.mu.Unlock()
}

// Hold keeps operations started from now on running until Release.
func (d *DB) Hold() {
	d.state.mu.Lock()
	d.state.hold = true
	d.state.mu.Unlock()
}

// Release ends the held operations as they would have ended.
func (d *DB) Release() {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	d.state.hold = false
	for _, op := range d.state.ops {
		switch op.Status {
		case "CREATING_BACKUP":
			op.Status = sidecar.OpBackupCreated
		case "RESTORING":
			op.Status = sidecar.OpRestored
		}
		op.EndTime = time.Now()
	}
}

// Forget clears system.backups, as a server restart does.
func (d *DB) Forget() {
	d.state.mu.Lock()
	d.state.ops, d.state.order = map[string]*sidecar.Operation{}, nil
	d.state.mu.Unlock()
}

func (d *DB) Version(context.Context) (string, error) { return "26.7.3.1-fake", nil }

func (d *DB) DatabaseExists(_ context.Context, name string) (bool, error) {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	_, ok := d.state.databases[name]
	return ok, nil
}

// TableRows reads system.tables, as the adapter does: a database that does
// not exist has no tables, and views have no rows to count.
func (d *DB) TableRows(_ context.Context, database string) (map[string]uint64, error) {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	out := maps.Clone(d.state.databases[database])
	if out == nil {
		out = map[string]uint64{}
	}
	maps.DeleteFunc(out, func(table string, _ uint64) bool { return d.state.restore.views[tableKey{database, table}] })
	return out, nil
}

// TableCount counts tables and views alike.
func (d *DB) TableCount(_ context.Context, database string) (uint64, error) {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	return uint64(len(d.state.databases[database])), nil
}

// StartBackup writes one object per table, then the .backup manifest, as
// ClickHouse writes its files and then the .backup file. Like ClickHouse,
// it accepts the statement and fails the operation for a missing database
// or base.
func (d *DB) StartBackup(ctx context.Context, cmd sidecar.BackupCommand) error {
	op, ok, err := d.state.begin(cmd.ID, coord.FolderName(cmd.Folder), cmd.BaseFolder)
	if !ok {
		return err
	}
	if ok, _ := d.DatabaseExists(ctx, cmd.Database); !ok {
		d.state.end(op, sidecar.OpBackupFailed, fmt.Sprintf("Code: 81. DB::Exception: Database %s does not exist. (UNKNOWN_DATABASE)", cmd.Database))
		return nil
	}
	tables, err := d.TableRows(ctx, cmd.Database)
	if err != nil {
		return err
	}
	tables = cmd.Tables.Filter(tables)
	if cmd.BaseFolder != "" {
		if ok, err := d.state.store.Exists(ctx, coord.BackupFileKey(cmd.BaseFolder)); err != nil || !ok {
			d.state.end(op, sidecar.OpBackupFailed, fmt.Sprintf("Code: 599. DB::Exception: Backup %s not found. (BACKUP_NOT_FOUND)", cmd.BaseFolder))
			return nil
		}
	}
	d.state.mu.Lock()
	fail, hold := d.state.failNext, d.state.hold
	d.state.failNext = ""
	d.state.mu.Unlock()
	if fail != "" {
		d.state.end(op, sidecar.OpBackupFailed, fail)
		return nil
	}
	d.state.mu.Lock()
	base := d.state.backups[cmd.BaseFolder]
	d.state.mu.Unlock()
	m := &manifest{Database: cmd.Database, Tables: tables, Parts: d.state.partsOf(cmd.Database, tables)}
	m.files = backupFiles(cmd.Database, tables, m.Parts, base)
	size, err := d.state.writeBackup(ctx, cmd.Folder, *m)
	if err != nil {
		return err
	}
	d.state.mu.Lock()
	d.state.backups[cmd.Folder] = m
	op.NumFiles, op.TotalSize = uint64(len(m.files)+1), size
	d.state.mu.Unlock()
	if !hold {
		d.state.end(op, sidecar.OpBackupCreated, "")
	}
	return nil
}

// StartRestore creates the target's tables from the backup's manifest.
// Like ClickHouse, it accepts the statement and fails the operation for a
// missing backup or a restore it refuses.
func (d *DB) StartRestore(ctx context.Context, cmd sidecar.RestoreCommand) error {
	ok, err := d.state.store.Exists(ctx, coord.BackupFileKey(cmd.Folder))
	if err != nil {
		return err
	}
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	op := &sidecar.Operation{ID: cmd.ID, Name: coord.FolderName(cmd.Folder), Status: "RESTORING", StartTime: time.Now()}
	d.state.ops[cmd.ID] = op
	d.state.order = append(d.state.order, cmd.ID)
	msg := ""
	if m, written := d.state.backups[cmd.Folder]; !ok || !written {
		msg = fmt.Sprintf("Code: 599. DB::Exception: Backup %s not found. (BACKUP_NOT_FOUND)", cmd.Folder)
	} else if err := d.state.restoreLocked(cmd, *m); err != nil {
		msg = strings.TrimPrefix(err.Error(), sidecar.ErrRefused.Error()+": ")
	}
	if msg != "" {
		op.Status, op.Error, op.ErrorDetail, op.EndTime = sidecar.OpRestoreFailed, msg, msg, time.Now()
		return nil
	}
	if fail := d.state.restore.failNext; fail != "" {
		d.state.restore.failNext = ""
		op.Status, op.Error, op.ErrorDetail, op.EndTime = sidecar.OpRestoreFailed, fail, fail, time.Now()
		return nil
	}
	if !d.state.hold {
		op.Status, op.EndTime = sidecar.OpRestored, time.Now()
	}
	return nil
}

// restoreLocked creates the restored tables: all of the backup's into a
// new database, or the named ones into an existing database. A table with
// rows is refused, as ClickHouse refuses it; structure only creates it
// empty. A partition restore restores only those partitions (the fake's
// partition values are their ids).
func (d *state) restoreLocked(cmd sidecar.RestoreCommand, m manifest) error {
	if _, exists := d.databases[cmd.Target]; exists && cmd.NewDatabase {
		return refused("Code: 82. DB::Exception: Database %s already exists: While creating database %s. (DATABASE_ALREADY_EXISTS)",
			cmd.Target, cmd.Target)
	}
	if len(cmd.Tables) == 0 {
		if names := slices.Sorted(maps.Keys(d.databases[cmd.Target])); len(names) > 0 { // create_table = 'create'
			return refused("Code: 57. DB::Exception: Table %s.%s already exists: While creating table %s.%s. (TABLE_ALREADY_EXISTS)",
				cmd.Target, names[0], cmd.Target, names[0])
		}
		d.databases[cmd.Target] = map[string]uint64{}
		for t, n := range m.Tables {
			d.databases[cmd.Target][t] = n
			d.restorePartsLocked(cmd.Target, model.TableRestore{Source: t, Target: t}, m, nil)
		}
	} else {
		target, ok := d.databases[cmd.Target]
		if !ok {
			return refused("Code: 81. DB::Exception: Database %s does not exist. (UNKNOWN_DATABASE)", cmd.Target)
		}
		for _, r := range cmd.Tables {
			rows, ok := m.Tables[r.Source]
			if !ok {
				return refused("Code: 605. DB::Exception: Table %s.%s not found in backup. (BACKUP_ENTRY_NOT_FOUND)", cmd.Database, r.Source)
			}
			if _, exists := target[r.Target]; exists { // create_table = 'create'
				return refused("Code: 57. DB::Exception: Table %s.%s already exists: While creating table %s.%s. (TABLE_ALREADY_EXISTS)",
					cmd.Target, r.Target, cmd.Target, r.Target)
			}
			target[r.Target] = rows
			d.restorePartsLocked(cmd.Target, r, m, append(slices.Clone(cmd.Partitions), cmd.PartitionIDs...))
		}
	}
	if cmd.StructureOnly {
		for t := range d.databases[cmd.Target] {
			if len(cmd.Tables) == 0 || slices.ContainsFunc(cmd.Tables, func(r model.TableRestore) bool { return r.Target == t }) {
				d.databases[cmd.Target][t] = 0
			}
		}
	}
	return nil
}

// Operation reads system.backups by id.
func (d *DB) Operation(_ context.Context, id string) (sidecar.Operation, error) {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	op, ok := d.state.ops[id]
	if !ok {
		return sidecar.Operation{}, fmt.Errorf("operation %s: %w", id, sidecar.ErrNotFound)
	}
	return *op, nil
}

// RecentOperations lists the newest operations first.
func (d *DB) RecentOperations(_ context.Context, limit int) ([]sidecar.Operation, error) {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	var out []sidecar.Operation
	for i := len(d.state.order) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, *d.state.ops[d.state.order[i]])
	}
	return out, nil
}

func (d *DB) CreateDatabase(_ context.Context, name string) error {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	if _, ok := d.state.databases[name]; ok {
		return fmt.Errorf("%w: %w", sidecar.ErrAlreadyExists,
			refused("Code: 82. DB::Exception: Database %s already exists. (DATABASE_ALREADY_EXISTS)", name))
	}
	d.state.databases[name] = map[string]uint64{}
	return nil
}

// FailNextDrop makes the next DROP TABLE of database.table fail, as a
// server that lost its connection or refused the right would.
func (d *DB) FailNextDrop(database, table string) {
	d.state.mu.Lock()
	d.state.failDrop = database + "." + table
	d.state.mu.Unlock()
}

func (d *DB) DropTable(_ context.Context, database, table string) error {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	if d.state.failDrop == database+"."+table {
		d.state.failDrop = ""
		return refused("Code: 497. DB::Exception: Not enough privileges to DROP TABLE %s.%s. (ACCESS_DENIED)", database, table)
	}
	delete(d.state.databases[database], table)
	d.state.restore.forget(database, table)
	return nil
}

// PartRows is TableRows without the empty tables: the fake's tables are
// one part each, and an empty table has none.
func (d *DB) PartRows(ctx context.Context, database string) (map[string]uint64, error) {
	out, err := d.TableRows(ctx, database)
	maps.DeleteFunc(out, func(_ string, rows uint64) bool { return rows == 0 })
	return out, err
}

// CheckTable passes every table, unless Damage named it.
func (d *DB) CheckTable(_ context.Context, database, table string) (string, error) {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	if d.state.damaged[database+"."+table] || d.state.damaged["*."+table] {
		return "CHECK TABLE failed for 1 parts; first part all_1_1_0: checksum mismatch", nil
	}
	return "", nil
}

// DamageAll makes CHECK TABLE fail for table in every database.
func (d *DB) DamageAll(table string) { d.Damage("*", table) }

// Damage makes CHECK TABLE fail for database.table.
func (d *DB) Damage(database, table string) {
	d.state.mu.Lock()
	d.state.damaged[database+"."+table] = true
	d.state.mu.Unlock()
}

func (d *DB) DropDatabase(_ context.Context, name string) error {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	for t := range d.state.databases[name] {
		d.state.restore.forget(name, t)
	}
	delete(d.state.databases, name)
	delete(d.state.restore.dbUUIDs, name)
	return nil
}

// Databases lists the databases, sorted.
func (d *DB) Databases() []string {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	names := make([]string, 0, len(d.state.databases))
	for n := range d.state.databases {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
