// Package dbtest is the one contract suite every implementation of the
// engine's ClickHouse ports runs (sidecar.Database and sidecar.RestoreOps,
// each held on its own): the ClickHouse adapter on the test bed's server
// and the in-memory server of the unit tests (fakedb) must answer alike,
// so an engine test on the fake means what it would on ClickHouse. When
// they differ, the fake is brought in line, never the suite.
package dbtest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// Server is a server under test: its ports, and what the suite cannot do
// through them (Admin).
type Server struct {
	sidecar.Database
	sidecar.RestoreOps
	Admin
}

// Admin makes databases and tables with rows. fakedb.DB is one as it is;
// on ClickHouse the harness runs the DDL as an administrator.
type Admin interface {
	// Create makes database anew (dropping what was there) with MergeTree
	// tables of these rows, each table's rows in one part.
	Create(database string, tables map[string]uint64)
	// SetPartitions makes table of database (anew; the database exists)
	// partitioned by a number, with these rows per partition; partition
	// ids are numbers, as a UInt32 key's ids are.
	SetPartitions(database, table string, parts map[string]uint64)
}

// NewServer is the server of these ports with admin beside them.
func NewServer(ports sidecar.ClickHouse, admin Admin) Server {
	return Server{Database: ports.Database, RestoreOps: ports.Restore, Admin: admin}
}

// Contract runs the suite on server, whose BACKUP and RESTORE use store as
// their bucket. The databases it makes are named cvtest_*.
func Contract(t *testing.T, server Server, store coord.ObjectStore) {
	prefix := "dbtest/" + uuid.NewString() + "/"
	for _, c := range []struct {
		name string
		run  func(t *testing.T, s Server)
	}{
		{"Databases", testDatabases},
		{"MissingDatabase", testMissingDatabase},
		{"Tables", testTables},
		{"ExchangeTables", testExchangeTables},
		{"Partitions", testPartitions},
		{"ReplacePartition", testReplacePartition},
		{"Columns", testColumns},
		{"StoppedView", testStoppedView},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, server) })
	}
	t.Run("BackupAndRestore", func(t *testing.T) { testBackupAndRestore(t, server, store, prefix) })
	t.Run("Refusals", func(t *testing.T) { testRefusals(t, server, prefix) })
	t.Run("RestorePartitions", func(t *testing.T) { testRestorePartitions(t, server, prefix) })
}

func ctxOf(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// must fails the test on err, naming what was done.
func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func rows(t *testing.T, s Server, database string) map[string]uint64 {
	t.Helper()
	return must[map[string]uint64](t, "TableRows "+database)(s.TableRows(ctxOf(t), database))
}

func wantRows(t *testing.T, s Server, database string, want map[string]uint64) {
	t.Helper()
	if got := rows(t, s, database); !reflect.DeepEqual(got, want) {
		t.Errorf("rows of %s: %v; want %v", database, got, want)
	}
}

// testDatabases: what the engine reads of a database and its tables, and
// creating and dropping them (both idempotent).
func testDatabases(t *testing.T, s Server) {
	ctx := ctxOf(t)
	if v, err := s.Version(ctx); err != nil || v == "" {
		t.Fatalf("Version: %q, %v", v, err)
	}
	s.Create("cvtest_db", map[string]uint64{"t1": 3, "t2": 0})
	if ok, err := s.DatabaseExists(ctx, "cvtest_db"); err != nil || !ok {
		t.Fatalf("DatabaseExists of a database: %v, %v", ok, err)
	}
	if e, err := s.DatabaseEngine(ctx, "cvtest_db"); err != nil || e != "Atomic" {
		t.Errorf("DatabaseEngine: %q, %v; want Atomic", e, err)
	}
	wantRows(t, s, "cvtest_db", map[string]uint64{"t1": 3, "t2": 0})
	if n, err := s.TableCount(ctx, "cvtest_db"); err != nil || n != 2 {
		t.Errorf("TableCount: %d, %v; want 2", n, err)
	}
	if names, err := s.TableNames(ctx, "cvtest_db"); err != nil || !slices.Equal(names, []string{"t1", "t2"}) {
		t.Errorf("TableNames: %v, %v; want [t1 t2]", names, err)
	}
	// An empty table has no part: physical rows are counted from parts.
	if parts, err := s.PartRows(ctx, "cvtest_db"); err != nil || !reflect.DeepEqual(parts, map[string]uint64{"t1": 3}) {
		t.Errorf("PartRows: %v, %v; want map[t1:3]", parts, err)
	}
	if msg, err := s.CheckTable(ctx, "cvtest_db", "t1"); err != nil || msg != "" {
		t.Errorf("CheckTable of a sound table: %q, %v; want it to pass", msg, err)
	}
	for i := 0; i < 2; i++ {
		if err := s.DropTable(ctx, "cvtest_db", "t1"); err != nil {
			t.Fatalf("DropTable (time %d): %v", i+1, err)
		}
	}
	// A database that exists is never created again: it is someone else's.
	if err := s.CreateDatabase(ctx, "cvtest_new"); err != nil {
		t.Fatalf("CreateDatabase: %v", err)
	}
	if err := s.CreateDatabase(ctx, "cvtest_new"); !errors.Is(err, sidecar.ErrAlreadyExists) {
		t.Fatalf("CreateDatabase of one that exists: %v; want ErrAlreadyExists", err)
	}
	wantRows(t, s, "cvtest_db", map[string]uint64{"t2": 0})
	if n, err := s.TableCount(ctx, "cvtest_new"); err != nil || n != 0 {
		t.Errorf("TableCount of a new database: %d, %v; want 0", n, err)
	}
	for i := 0; i < 2; i++ {
		if err := s.DropDatabase(ctx, "cvtest_new"); err != nil {
			t.Fatalf("DropDatabase (time %d): %v", i+1, err)
		}
	}
	if ok, err := s.DatabaseExists(ctx, "cvtest_new"); err != nil || ok {
		t.Errorf("DatabaseExists after the drop: %v, %v", ok, err)
	}
}

// testMissingDatabase: a database that does not exist has no tables (no
// error), and no engine (ErrNotFound).
func testMissingDatabase(t *testing.T, s Server) {
	ctx := ctxOf(t)
	const none = "cvtest_none"
	if ok, err := s.DatabaseExists(ctx, none); err != nil || ok {
		t.Errorf("DatabaseExists: %v, %v; want false", ok, err)
	}
	if got, err := s.TableRows(ctx, none); err != nil || len(got) != 0 {
		t.Errorf("TableRows: %v, %v; want none", got, err)
	}
	if n, err := s.TableCount(ctx, none); err != nil || n != 0 {
		t.Errorf("TableCount: %d, %v; want 0", n, err)
	}
	if names, err := s.TableNames(ctx, none); err != nil || len(names) != 0 {
		t.Errorf("TableNames: %v, %v; want none", names, err)
	}
	if got, err := s.PartRows(ctx, none); err != nil || len(got) != 0 {
		t.Errorf("PartRows: %v, %v; want none", got, err)
	}
	if _, err := s.DatabaseEngine(ctx, none); !errors.Is(err, sidecar.ErrNotFound) {
		t.Errorf("DatabaseEngine: %v; want ErrNotFound", err)
	}
	if o, err := s.Objects(ctx, none); err != nil || o.UUID != "" || len(o.Tables) != 0 {
		t.Errorf("Objects: %+v, %v; want none", o, err)
	}
	if _, err := s.Operation(ctx, uuid.NewString()); !errors.Is(err, sidecar.ErrNotFound) {
		t.Errorf("Operation of an unknown id: %v; want ErrNotFound", err)
	}
}
