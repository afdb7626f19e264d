package fakedb

import (
	"fmt"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// NewSerial is a server (as New) that refuses concurrent backups, as one
// with backups.allow_concurrent_backups = false does: a BACKUP sent while
// another is still in the server (CREATING_BACKUP, held or closing) fails
// with CONCURRENT_ACCESS_NOT_SUPPORTED before writing anything.
func NewSerial(store coord.ObjectStore) *DB {
	d := New(store)
	d.state.serial = true
	return d
}

// concurrentRefusal is ClickHouse's error for a BACKUP it refuses as
// concurrent (26.7, read from the test bed).
const concurrentRefusal = "Code: 587. DB::Exception: Concurrent backups are not allowed, turn on setting " +
	"'allow_concurrent_backups'. (CONCURRENT_ACCESS_NOT_SUPPORTED)"

// begin records a new backup operation, as system.backups shows it. Like
// ClickHouse, it refuses an id it knows (the statement fails), and on a
// serial server ends the operation refused (ok false) while another
// backup is in the server.
func (d *state) begin(id, name, base string) (op *sidecar.Operation, ok bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, known := d.ops[id]; known {
		return nil, false, refused("Code: 36. DB::Exception: Cannot start backup with ID '%s' because there is another "+
			"backup with the same ID. (BAD_ARGUMENTS)", id)
	}
	op = &sidecar.Operation{ID: id, Name: name, BaseBackupName: base, Status: "CREATING_BACKUP", StartTime: time.Now()}
	busy := false
	for _, other := range d.ops {
		busy = busy || other.Status == "CREATING_BACKUP"
	}
	d.ops[id] = op
	d.order = append(d.order, id)
	if d.serial && busy {
		op.Status, op.Error, op.ErrorDetail, op.EndTime = sidecar.OpBackupFailed, concurrentRefusal, concurrentRefusal, time.Now()
		return op, false, nil
	}
	return op, true, nil
}

// end ends an operation with status and ClickHouse's message.
func (d *state) end(op *sidecar.Operation, status sidecar.OperationStatus, msg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	op.Status, op.Error, op.ErrorDetail, op.EndTime = status, msg, msg, time.Now()
}

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", sidecar.ErrRefused, fmt.Sprintf(format, args...))
}
