package fakedb

import (
	"context"
	"time"

	"github.com/clickvault/clickvault/sidecar/model"
)

// TableColumns answers as system.columns does for the tables the contract
// suite makes: a table made by SetPartitions (or restored from one) is
// (p UInt32, x UInt64), any other (x UInt64); a missing table has none.
func (d *RestoreOps) TableColumns(_ context.Context, database, table string) ([]model.Column, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.databases[database][table]; !ok {
		return nil, nil
	}
	x := model.Column{Name: "x", Type: "UInt64"}
	if _, ok := d.restore.parts[tableKey{database, table}]; ok {
		return []model.Column{{Name: "p", Type: "UInt32"}, x}, nil
	}
	return []model.Column{x}, nil
}

// CreateStoppedView creates database.view, created now, listed and counted
// as a table but with no rows or parts, as ClickHouse lists a view; the
// fake never refreshes one, so it is stopped from the start. create is not parsed;
// the server refuses a view in a missing database, and one that exists.
func (d *RestoreOps) CreateStoppedView(_ context.Context, database, view, create string) error {
	for _, name := range []string{database, view} {
		if err := model.ValidateIdentifier("name", name); err != nil {
			return err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	tables, ok := d.databases[database]
	if !ok {
		return refused("Code: 81. DB::Exception: Database %s does not exist. (UNKNOWN_DATABASE)", database)
	}
	if _, ok := tables[view]; ok {
		return refused("Code: 57. DB::Exception: Table %s.%s already exists. (TABLE_ALREADY_EXISTS)", database, view)
	}
	d.restore.forget(database, view)
	tables[view] = 0
	d.restore.created[tableKey{database, view}] = time.Now()
	d.restore.views[tableKey{database, view}] = true
	return nil
}
