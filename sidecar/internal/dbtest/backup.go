package dbtest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// ended reports whether an operation status is final.
func ended(status sidecar.OperationStatus) bool {
	return slices.Contains([]sidecar.OperationStatus{sidecar.OpBackupCreated, sidecar.OpBackupFailed, sidecar.OpRestored, sidecar.OpRestoreFailed,
		sidecar.OpCancelled, sidecar.OpRestoreCancel}, status)
}

// waitOp waits for an operation to end and returns it.
func waitOp(t *testing.T, s Server, id string) sidecar.Operation {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		op, err := s.Operation(ctxOf(t), id)
		if err != nil {
			t.Fatalf("Operation %s: %v", id, err)
		}
		if ended(op.Status) {
			return op
		}
		if time.Now().After(deadline) {
			t.Fatalf("operation %s still %s after a minute", id, op.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// backup runs a BACKUP to completion and returns its operation.
func backup(t *testing.T, s Server, cmd sidecar.BackupCommand) sidecar.Operation {
	t.Helper()
	cmd.ID = uuid.NewString()
	if err := s.StartBackup(ctxOf(t), cmd); err != nil {
		t.Fatalf("StartBackup of %s to %s: %v", cmd.Database, cmd.Folder, err)
	}
	op := waitOp(t, s, cmd.ID)
	if op.Status != sidecar.OpBackupCreated {
		t.Fatalf("backup of %s to %s ended %s: %s", cmd.Database, cmd.Folder, op.Status, op.Error)
	}
	return op
}

// restore runs a RESTORE and reports how it ended: the error StartRestore
// returned, or the operation's status and error.
func restore(t *testing.T, s Server, cmd sidecar.RestoreCommand) (sidecar.Operation, error) {
	t.Helper()
	cmd.ID = uuid.NewString()
	if err := s.StartRestore(ctxOf(t), cmd); err != nil {
		return sidecar.Operation{}, err
	}
	return waitOp(t, s, cmd.ID), nil
}

func mustRestore(t *testing.T, s Server, cmd sidecar.RestoreCommand) {
	t.Helper()
	op, err := restore(t, s, cmd)
	if err != nil || op.Status != sidecar.OpRestored {
		t.Fatalf("restore into %s: %v, %s %s", cmd.Target, err, op.Status, op.Error)
	}
}

// testBackupAndRestore: a BACKUP writes the backup and, last, its .backup
// file into the bucket; an incremental builds on its base; RESTORE gives
// the rows back into a new database, a table under another name, or a
// table's structure alone. Operations answer by id, the newest first.
func testBackupAndRestore(t *testing.T, s Server, store coord.ObjectStore, prefix string) {
	s.Create("cvtest_shop", map[string]uint64{"orders": 5, "items": 2})
	full, incr := prefix+"shop/full/", prefix+"shop/incr/"
	op := backup(t, s, sidecar.BackupCommand{Database: "cvtest_shop", Folder: full})
	if op.NumFiles == 0 || op.TotalSize == 0 || op.StartTime.IsZero() || op.EndTime.IsZero() {
		t.Errorf("a finished backup's operation: %+v; want files, size, start and end", op)
	}
	if ok, err := store.Exists(ctxOf(t), coord.BackupFileKey(full)); err != nil || !ok {
		t.Fatalf("the backup's .backup file: %v, %v", ok, err)
	}
	last := backup(t, s, sidecar.BackupCommand{Database: "cvtest_shop", Folder: incr, BaseFolder: full}).ID
	mustRestore(t, s, sidecar.RestoreCommand{Database: "cvtest_shop", Target: "cvtest_shop_copy", Folder: incr})
	wantRows(t, s, "cvtest_shop_copy", map[string]uint64{"orders": 5, "items": 2})
	mustRestore(t, s, sidecar.RestoreCommand{Database: "cvtest_shop", Target: "cvtest_shop", Folder: full,
		Tables: []model.TableRestore{{Source: "orders", Target: "orders_2"}}})
	cmd := sidecar.RestoreCommand{Database: "cvtest_shop", Target: "cvtest_shop", Folder: full, StructureOnly: true,
		Tables: []model.TableRestore{{Source: "items", Target: "items_shape"}}}
	mustRestore(t, s, cmd)
	wantRows(t, s, "cvtest_shop", map[string]uint64{"orders": 5, "items": 2, "orders_2": 5, "items_shape": 0})
	recent := must[[]sidecar.Operation](t, "RecentOperations")(s.RecentOperations(ctxOf(t), 4))
	if len(recent) != 4 || recent[3].ID != last || recent[0].Status != sidecar.OpRestored {
		t.Errorf("RecentOperations(4): %+v; want the three restores, newest first, then the incremental %s", recent, last)
	}
}

// failed checks that an operation was accepted and then failed with
// ClickHouse's code (in parentheses, as its messages end).
func failed(t *testing.T, what string, op sidecar.Operation, err error, status sidecar.OperationStatus, code string) {
	t.Helper()
	switch {
	case err != nil:
		t.Errorf("%s: refused at once (%v); ClickHouse accepts the ASYNC statement and fails the operation", what, err)
	case op.Status != status || !strings.Contains(op.Error, "("+code+")") || strings.Contains(op.Error, "\n"):
		t.Errorf("%s: operation %s %q; want %s with %s on one line", what, op.Status, op.Error, status, code)
	}
}

// testRefusals: ClickHouse accepts every BACKUP and RESTORE … ASYNC and
// answers a refusal in its operation, with its code: a restore over a
// table that exists or into a database with tables (a RESTORE writes into
// no table it did not create), as new into one that exists, of a table the backup
// lacks, into a missing database, from a missing backup; a backup of a
// missing database or on a missing base. Nothing is changed.
func testRefusals(t *testing.T, s Server, prefix string) {
	s.Create("cvtest_ref", map[string]uint64{"orders": 5})
	folder := prefix + "ref/full/"
	backup(t, s, sidecar.BackupCommand{Database: "cvtest_ref", Folder: folder})
	one := func(source, target string) []model.TableRestore {
		return []model.TableRestore{{Source: source, Target: target}}
	}
	for what, c := range map[string]struct {
		cmd  sidecar.RestoreCommand
		code string
	}{
		"restore into a database with tables": {sidecar.RestoreCommand{Target: "cvtest_ref"}, "TABLE_ALREADY_EXISTS"},
		"restore over a table with rows":      {sidecar.RestoreCommand{Target: "cvtest_ref", Tables: one("orders", "orders")}, "TABLE_ALREADY_EXISTS"},
		"restore as new of one that exists":   {sidecar.RestoreCommand{Target: "cvtest_ref", NewDatabase: true}, "DATABASE_ALREADY_EXISTS"},
		"restore of a table not backed up":    {sidecar.RestoreCommand{Target: "cvtest_ref", Tables: one("ghost", "ghost")}, "BACKUP_ENTRY_NOT_FOUND"},
		"restore into a missing database":     {sidecar.RestoreCommand{Target: "cvtest_ref_none", Tables: one("orders", "orders")}, "UNKNOWN_DATABASE"},
		"restore of a missing backup":         {sidecar.RestoreCommand{Target: "cvtest_ref_new", Folder: prefix + "ref/none/"}, "BACKUP_NOT_FOUND"},
	} {
		c.cmd.Database = "cvtest_ref"
		if c.cmd.Folder == "" {
			c.cmd.Folder = folder
		}
		op, err := restore(t, s, c.cmd)
		failed(t, what, op, err, sidecar.OpRestoreFailed, c.code)
	}
	wantRows(t, s, "cvtest_ref", map[string]uint64{"orders": 5})
	for what, c := range map[string]struct {
		cmd  sidecar.BackupCommand
		code string
	}{
		"backup on a missing base":     {sidecar.BackupCommand{Database: "cvtest_ref", Folder: prefix + "ref/incr/", BaseFolder: prefix + "ref/none/"}, "BACKUP_NOT_FOUND"},
		"backup of a missing database": {sidecar.BackupCommand{Database: "cvtest_ref_none", Folder: prefix + "ref/nodb/"}, "UNKNOWN_DATABASE"},
	} {
		c.cmd.ID = uuid.NewString()
		var op sidecar.Operation
		err := s.StartBackup(ctxOf(t), c.cmd)
		if err == nil {
			op = waitOp(t, s, c.cmd.ID)
		}
		failed(t, what, op, err, sidecar.OpBackupFailed, c.code)
	}
	for _, db := range []string{"cvtest_ref_none", "cvtest_ref_new"} {
		if ok, err := s.DatabaseExists(ctxOf(t), db); err != nil || ok {
			t.Errorf("database %s after the refusals: exists %v, %v", db, ok, err)
		}
	}
}

// testRestorePartitions: a one-table restore of some partitions restores
// those only.
func testRestorePartitions(t *testing.T, s Server, prefix string) {
	s.Create("cvtest_prt", nil)
	s.SetPartitions("cvtest_prt", "monthly", map[string]uint64{"202401": 3, "202402": 4})
	folder := prefix + "prt/full/"
	backup(t, s, sidecar.BackupCommand{Database: "cvtest_prt", Folder: folder})
	mustRestore(t, s, sidecar.RestoreCommand{Database: "cvtest_prt", Target: "cvtest_prt", Folder: folder,
		Tables: []model.TableRestore{{Source: "monthly", Target: "february"}}, Partitions: []string{"202402"}})
	wantPartitions(t, s, "cvtest_prt", "february", []model.Partition{{ID: "202402", Value: "202402", Rows: 4}})
}
