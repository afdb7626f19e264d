package sidecar

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// A work record says what a restore or a verify is creating in ClickHouse,
// so that whoever finds it half done can finish or remove it: the runner
// adopting a restore after a restart, and the sweep `serve` runs at start.
// It is one small object (coord.Layout.WorkKey), written before anything is
// created, kept alive every WorkHeartbeatEvery like a pin (coord.KeepWork),
// and deleted when the operation has finished or cleaned up. It names
// the deployment and the process that wrote it: the sweep only touches
// records of its own deployment, and only names with the sidecar's own
// prefixes (clickvault_staging_, clickvault_verify_), never a user's table.
//
// Like a pin, a record that cannot be written does not stop the operation
// (a restore on a bad day may have read-only keys): it then cleans up after
// itself as it goes, but a kill leaves its scratch behind for a person.

// Work record timing. A verify's scratch is swept once its heartbeat is
// VerifyWorkStaleAfter old (or at once when this very sidecar, restarted,
// wrote it: nobody else will finish a verify). A restore's is left alone
// for RestoreWorkStaleAfter: that is the window in which a restarted
// sidecar, or another one, adopts the restore and finishes it.
const (
	WorkHeartbeatEvery    = coord.WorkHeartbeatEvery
	VerifyWorkStaleAfter  = 4 * WorkHeartbeatEvery
	RestoreWorkStaleAfter = 10 * time.Minute
)

// workHeartbeatEvery is WorkHeartbeatEvery; tests shorten it.
var workHeartbeatEvery = WorkHeartbeatEvery

// Kinds of work records.
const (
	workRestore = "restore"
	workVerify  = "verify"
)

// stagingPrefix starts the name of every staging table a replace restores
// into, beside the live table.
const stagingPrefix = "clickvault_staging_"

// workRecord is the content of a work record.
type workRecord struct {
	ID         string    `json:"id"` // the RESTORE's operation id
	Kind       string    `json:"kind"`
	Deployment string    `json:"deployment"`
	Holder     string    `json:"owner"` // host and process, or the sidecar's stable name (the key predates the word)
	Run        string    `json:"run"`   // this process: a restarted sidecar has the same Holder, another Run
	Heartbeat  time.Time `json:"heartbeat"`
	RequestID  string    `json:"request_id,omitempty"` // a restore's request: a run of it again resumes this one
	Backup     string    `json:"backup"`
	Source     string    `json:"source_database"`
	Target     string    `json:"target"` // the database restored into (a verify's scratch)
	// WholeDatabase: a restore of the whole database into an empty or a
	// new one (its RESTORE creates a new one itself).
	WholeDatabase bool `json:"whole_database,omitempty"`
	// CreatedDatabase: Target did not exist before; this restore creates it.
	CreatedDatabase bool `json:"created_database,omitempty"`
	// DatabaseUUID is Target's UUID once this restore created it: a failed
	// restore drops the database only while it has this UUID and holds
	// nothing this restore did not create (restore_undo.go).
	DatabaseUUID string `json:"database_uuid,omitempty"`
	// Created are tables restored under their own name that did not exist.
	Created []string `json:"created,omitempty"`
	// CreatedUUIDs are the UUIDs of the Created tables this restore is
	// known to have created: a failed restore drops a table only while it
	// has this UUID.
	CreatedUUIDs map[string]string `json:"created_uuids,omitempty"`
	// Stopped are refreshable views created stopped after the RESTORE,
	// from the plan: a run that adopts the RESTORE has no plan, so it
	// undoes the restore instead of finishing it without them.
	Stopped []string `json:"stopped,omitempty"`
	// Swaps are the live tables replaced from staging tables.
	Swaps      []swap   `json:"swaps,omitempty"`
	Partitions []string `json:"partitions,omitempty"`
	// Abandoned is set by the sweep that removed the staging tables of a
	// restore nobody finished; an adoption then reports it.
	Abandoned string `json:"abandoned,omitempty"`
	// Undoing is set by that sweep before it removes anything: an undo
	// that stopped half-way is finished by the adoption (never answered
	// done) or by the next start's sweep.
	Undoing string `json:"undoing,omitempty"`
}

// swap is one live table replaced by a staging table.
type swap struct {
	Source  string `json:"source"` // the backup's table
	Live    string `json:"live"`
	Staging string `json:"staging"`
	// StagingUUID is written once the staging table is checked, before the
	// swap: a live table with this UUID has been swapped. LiveUUID, the
	// live table's then, is the original's: after a swap it is under the
	// staging name, where an undo never drops it.
	StagingUUID string `json:"staging_uuid,omitempty"`
	LiveUUID    string `json:"live_uuid,omitempty"`
}

// work is a held work record. One that could not be written at first is
// kept in memory only, and never written.
type work struct {
	kept *coord.Kept[workRecord]
}

// stampWork sets a record's heartbeat at each write.
func stampWork(r *workRecord, at time.Time) { r.Heartbeat = at }

// startWork writes a work record and renews it until done.
func (s *works) startWork(ctx context.Context, rec workRecord) *work {
	rec.Deployment, rec.Holder, rec.Run = s.opts.Deployment, s.opts.Holder.Name, s.opts.Holder.Run
	k, err := coord.KeepWork(ctx, s.bucket, rec.ID, rec, stampWork, workHeartbeatEvery)
	if err != nil {
		s.logger.Warn("write the work record; a kill now leaves what this creates for a person to remove",
			"target", rec.Target, "err", err)
	}
	return &work{kept: k}
}

// scratchWork is the work record of a verify's scratch database.
func (s *works) scratchWork(ctx context.Context, b model.Backup, scratch string) *work {
	return s.startWork(ctx, workRecord{ID: uuid.NewString(), Kind: workVerify, Backup: b.Name, Source: b.Database,
		Target: scratch, CreatedDatabase: true})
}

// update changes the record and writes it at once: the next step must not
// run before the record says what it may leave behind.
func (w *work) update(ctx context.Context, change func(*workRecord)) error {
	return w.kept.Update(ctx, change)
}

// done stops the renewal and deletes the record: what it named is
// finished or removed.
func (w *work) done(ctx context.Context) {
	w.kept.Stop()
	if ctx.Err() != nil {
		return // a cancelled run (the sidecar stopping) leaves it for the adoption
	}
	w.kept.Delete(ctx)
}

// readWork reads the work record of an operation; ErrNotFound if none.
func (s *works) readWork(ctx context.Context, id string) (workRecord, error) {
	var rec workRecord
	if err := s.bucket.ReadWork(ctx, id, &rec); err != nil {
		return workRecord{}, err
	}
	return rec, nil
}

// adoptWork takes over a record a previous run wrote.
func (s *works) adoptWork(ctx context.Context, rec workRecord) *work {
	rec.Holder, rec.Run = s.opts.Holder.Name, s.opts.Holder.Run
	k, err := coord.AdoptWork(ctx, s.bucket, rec.ID, rec, stampWork, workHeartbeatEvery)
	if err != nil {
		s.logger.Warn("renew the adopted work record", "operation", rec.ID, "err", err)
	}
	return &work{kept: k}
}

// record is a copy of the record as it is now.
func (w *work) record() workRecord {
	var rec workRecord
	w.kept.View(func(r *workRecord) {
		rec = *r
		rec.Swaps = slices.Clone(r.Swaps)
	})
	return rec
}
