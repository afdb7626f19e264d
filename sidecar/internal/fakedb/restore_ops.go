package fakedb

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

// restoreState is what the fake keeps for sidecar.RestoreOps: database
// engines, table UUIDs and partitions. A table without partitions is one
// partition "all" holding its rows.
type restoreState struct {
	engines  map[string]string                       // database → engine; absent = Atomic
	uuids    map[tableKey]string                     // given on first look, swapped by EXCHANGE
	dbUUIDs  map[string]string                       // given on first look, until the database is dropped
	created  map[tableKey]time.Time                  // when a RESTORE created a table (metadata_modification_time)
	views    map[tableKey]bool                       // the views CreateStoppedView made: no rows, no parts
	parts    map[tableKey]map[string]uint64          // partition id → rows
	failNext string                                  // the next RESTORE fails with this, after creating its tables
	calls    []string                                // ExchangeTables and ReplacePartition calls, in order
	hook     func(op string, database, table string) // called before a change: tests fail or kill there
}

type tableKey struct{ database, table string }

// RestoreOps is the server's sidecar.RestoreOps port, on the DB's state.
type RestoreOps struct{ *state }

var _ sidecar.RestoreOps = (*RestoreOps)(nil)

func newRestoreState() restoreState {
	return restoreState{engines: map[string]string{}, uuids: map[tableKey]string{}, dbUUIDs: map[string]string{},
		created: map[tableKey]time.Time{}, views: map[tableKey]bool{}, parts: map[tableKey]map[string]uint64{}}
}

func (r *restoreState) forget(database, table string) {
	delete(r.uuids, tableKey{database, table})
	delete(r.parts, tableKey{database, table})
	delete(r.created, tableKey{database, table})
	delete(r.views, tableKey{database, table})
}

// SetEngine gives a database another engine than Atomic: Memory cannot
// EXCHANGE TABLES.
func (d *DB) SetEngine(database, engine string) {
	d.state.mu.Lock()
	d.state.restore.engines[database] = engine
	d.state.mu.Unlock()
}

// SetPartitions makes a table (creating it) of these partitions and rows.
func (d *DB) SetPartitions(database, table string, parts map[string]uint64) {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	if d.state.databases[database] == nil {
		d.state.databases[database] = map[string]uint64{}
	}
	var rows uint64
	for _, n := range parts {
		rows += n
	}
	d.state.databases[database][table] = rows
	d.state.restore.parts[tableKey{database, table}] = maps.Clone(parts)
}

// Partitions returns a table's rows per partition.
func (d *DB) Partitions(database, table string) map[string]uint64 {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	return d.state.partitionsLocked(database, table)
}

func (d *state) partitionsLocked(database, table string) map[string]uint64 {
	if p, ok := d.restore.parts[tableKey{database, table}]; ok {
		return maps.Clone(p)
	}
	rows, ok := d.databases[database][table]
	if !ok || rows == 0 {
		return map[string]uint64{}
	}
	return map[string]uint64{"all": rows}
}

// partsOf is the partitions of a database's partitioned tables, for a backup.
func (d *state) partsOf(database string, tables map[string]uint64) map[string]map[string]uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]map[string]uint64{}
	for t := range tables {
		if p, ok := d.restore.parts[tableKey{database, t}]; ok {
			out[t] = maps.Clone(p)
		}
	}
	return out
}

// restorePartsLocked sets the partitions of a restored table: the
// backup's, or only those named.
func (d *state) restorePartsLocked(target string, r model.TableRestore, m manifest, partitions []string) {
	key := tableKey{target, r.Target}
	d.restore.forget(target, r.Target)
	d.restore.created[key] = time.Now()
	backup, ok := m.Parts[r.Source]
	if !ok {
		if len(partitions) > 0 {
			backup = map[string]uint64{"all": m.Tables[r.Source]}
		} else {
			return
		}
	}
	parts := maps.Clone(backup)
	if len(partitions) > 0 {
		parts = map[string]uint64{}
		for _, p := range partitions {
			if n, ok := backup[p]; ok {
				parts[p] = n
			}
		}
	}
	var rows uint64
	for _, n := range parts {
		rows += n
	}
	d.restore.parts[key] = parts
	d.databases[target][r.Target] = rows
}

// FailNextRestore makes the next RESTORE create its tables and then end
// with RESTORE_FAILED and msg, as a RESTORE that loses an object midway.
func (d *DB) FailNextRestore(msg string) {
	d.state.mu.Lock()
	d.state.restore.failNext = msg
	d.state.mu.Unlock()
}

// OnChange calls hook before each EXCHANGE or REPLACE PARTITION ("exchange"
// or "replace", with the live table), for tests to fail or act there.
func (d *DB) OnChange(hook func(op, database, table string)) {
	d.state.mu.Lock()
	d.state.restore.hook = hook
	d.state.mu.Unlock()
}

// Calls lists the EXCHANGE and REPLACE PARTITION statements run.
func (d *DB) Calls() []string {
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	return append([]string(nil), d.state.restore.calls...)
}

func (d *RestoreOps) DatabaseEngine(_ context.Context, database string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.databases[database]; !ok {
		return "", fmt.Errorf("database %s: %w", database, sidecar.ErrNotFound)
	}
	if e, ok := d.restore.engines[database]; ok {
		return e, nil
	}
	return "Atomic", nil
}

func (d *RestoreOps) TableNames(_ context.Context, database string) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for t := range d.databases[database] {
		out = append(out, t)
	}
	sort.Strings(out)
	return out, nil
}

func (d *RestoreOps) Objects(_ context.Context, database string) (sidecar.Objects, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := sidecar.Objects{Tables: map[string]sidecar.Object{}}
	if _, ok := d.databases[database]; !ok {
		return out, nil
	}
	if _, ok := d.restore.dbUUIDs[database]; !ok {
		d.restore.dbUUIDs[database] = uuid.NewString()
	}
	out.UUID = d.restore.dbUUIDs[database]
	for table := range d.databases[database] {
		key := tableKey{database, table}
		out.Tables[table] = sidecar.Object{UUID: d.restore.tableUUID(database, table), Modified: d.restore.created[key]}
	}
	return out, nil
}

// tableUUID gives a table its UUID on first look.
func (r *restoreState) tableUUID(database, table string) string {
	key := tableKey{database, table}
	if _, ok := r.uuids[key]; !ok {
		r.uuids[key] = uuid.NewString()
	}
	return r.uuids[key]
}

func (d *state) change(op, database, table string) {
	d.mu.Lock()
	hook := d.restore.hook
	d.mu.Unlock()
	if hook != nil {
		hook(op, database, table)
	}
}

func (d *RestoreOps) ExchangeTables(ctx context.Context, database, a, b string) error {
	d.change("exchange", database, a)
	engine, err := d.DatabaseEngine(ctx, database)
	if err != nil {
		return err
	}
	if engine != "Atomic" {
		return refused("Code: 48. DB::Exception: %s: renameTable() is not supported. (NOT_IMPLEMENTED)", engine)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, t := range []string{a, b} {
		if _, ok := d.databases[database][t]; !ok {
			return refused("Code: 60. DB::Exception: Table %s.%s does not exist. (UNKNOWN_TABLE)", database, t)
		}
		d.restore.tableUUID(database, t) // both get their UUIDs before they swap
	}
	tables := d.databases[database]
	ka, kb := tableKey{database, a}, tableKey{database, b}
	tables[a], tables[b] = tables[b], tables[a]
	d.restore.uuids[ka], d.restore.uuids[kb] = d.restore.uuids[kb], d.restore.uuids[ka]
	pa, hasA := d.restore.parts[ka]
	pb, hasB := d.restore.parts[kb]
	delete(d.restore.parts, ka)
	delete(d.restore.parts, kb)
	if hasA {
		d.restore.parts[kb] = pa
	}
	if hasB {
		d.restore.parts[ka] = pb
	}
	d.restore.calls = append(d.restore.calls, fmt.Sprintf("EXCHANGE %s.%s %s", database, a, b))
	return nil
}

func (d *RestoreOps) TablePartitions(_ context.Context, database, table string) ([]model.Partition, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []model.Partition
	for id, n := range d.partitionsLocked(database, table) {
		value := id // the fake's partition values are their ids
		if id == "all" {
			value = "tuple()" // a table without a partition key, as system.parts shows it
		}
		out = append(out, model.Partition{ID: id, Value: value, Rows: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// ReplacePartition refuses a partition the source does not have, as 26.7
// does (allow_replace_partition_from_empty_source is off).
func (d *RestoreOps) ReplacePartition(_ context.Context, database, table, partitionID, from string) error {
	d.change("replace", database, table)
	d.mu.Lock()
	defer d.mu.Unlock()
	src := d.partitionsLocked(database, from)
	n, ok := src[partitionID]
	if !ok {
		return refused("Code: 36. DB::Exception: Source table has no parts in partition %s. (BAD_ARGUMENTS)", partitionID)
	}
	dst := d.partitionsLocked(database, table)
	dst[partitionID] = n
	var rows uint64
	for _, r := range dst {
		rows += r
	}
	d.restore.parts[tableKey{database, table}] = dst
	d.databases[database][table] = rows
	d.restore.calls = append(d.restore.calls, fmt.Sprintf("REPLACE %s.%s %s", database, table, partitionID))
	return nil
}
