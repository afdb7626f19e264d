package sidecar

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// BackupRequest asks for one backup.
type BackupRequest struct {
	// Database was validated by whoever asked (model.ParseDatabaseName,
	// once): the engine takes it as it is.
	Database    model.DatabaseName
	Kind        model.Kind // "" = auto
	Tables      model.TableSet
	RequestID   string
	RequestedBy string
	Progress    ProgressFunc
	// Started, when set, is called once ClickHouse accepted the BACKUP,
	// with the backup as recorded so far (status running), and again with
	// its new operation id if it is sent again (sendBackup).
	Started func(model.Backup)
	// Settled, when set, is called once the backup's outcome (created or
	// failed) is in its metadata, while the catalog index is rewritten and
	// the lease released, so the caller's own record of it overlaps them.
	Settled func(model.Backup)
	// Indexed, when set, is called with the database's catalog as the
	// backup's outcome left it, once the catalog index is written and
	// while the lease is still held: S3's catalog at that moment, read
	// under the lease at the start and changed only by this backup. The
	// caller may take it for S3's later (WrittenCatalog.Current: one HEAD
	// says whether another writer came since) instead of reading it again
	// (the mirror into clickvault.backups).
	Indexed func(WrittenCatalog)
	// WaitForLease waits for another writer's lease instead of failing.
	WaitForLease bool
	// Turns, when set, bounds the BACKUPs in ClickHouse at once: the
	// backup takes one once planned, right before it is named and sent.
	Turns Turns
	// Resumable says a stop (ctx ended) is not the request's end: it is
	// run again or its backup adopted later, which notifies how it ended.
	// The runner's requests and a cluster node's shard steps are; the
	// CLI's are not, and a stop notifies them failed.
	Resumable bool
}

// backups takes backups under the database's lease, and settles those a
// previous run left running.
type backups struct {
	*engine
	catalogs *catalogs
}

// Backup takes one backup under the database's lease: it adopts backups a
// killed run left behind, plans full or incremental, and records the result
// in metadata. It notifies success or failure either way.
func (s *backups) Backup(ctx context.Context, req BackupRequest) (model.Backup, error) {
	start := s.now()
	var out model.Backup
	name := req.Database
	err := s.bucket.WithLease(ctx, string(name), coord.PurposeBackup, req.WaitForLease, func(ctx context.Context) error {
		cat, plan, snap, err := s.prepareBackup(ctx, req, name)
		if err != nil {
			return err
		}
		if own, ok := cat.FindRequest(req.RequestID); ok {
			// A run of this request was killed after it wrote the
			// metadata; the catalog has settled that backup.
			s.logger.Info("adopting this request's backup of an earlier run", "request", req.RequestID, "backup", own.Name, "status", own.Status)
			out, err = own, ownOutcome(own)
		} else {
			s.logger.Info("backup planned", "database", req.Database, "kind", plan.Kind, "reason", plan.Reason)
			out, err = s.runBackup(ctx, req, cat, plan, snap)
		}
		if out.Status == model.StatusCreated || out.Status == model.StatusFailed {
			if req.Settled != nil {
				req.Settled(out)
			}
			after := cat.With(out)
			etag := s.catalogs.writeIndex(ctx, string(name), after.All(), cat.Scanned)
			if req.Indexed != nil {
				req.Indexed(WrittenCatalog{Catalog: after, indexETag: etag, catalogs: s.catalogs})
			}
		}
		return err
	})
	if err != nil && ctx.Err() != nil && req.Resumable {
		// Stopped (serve shutting down), not failed: the BACKUP may run
		// on, and the request's next run, or its adoption of this backup
		// (Adopt), says how it ended.
		return out, err
	}
	s.emit(ctx, backupEvent(string(req.Database), out, err, s.now().Sub(start), req.RequestID, req.RequestedBy))
	return out, err
}

// Requester is who asked for a backup an adoption settles: its
// notification names them.
type Requester struct{ RequestID, RequestedBy string }

// backupEvent is the notification of a backup of database that ended
// with err (b is empty when it failed before it was named).
func backupEvent(database string, b model.Backup, err error, took time.Duration, requestID, requestedBy string) Event {
	e := Event{Event: "backup_completed", Database: database, Backup: b.Name, Kind: string(b.Kind),
		Size: b.StoredBytes(), StoredBytes: b.StoredBytes(), LogicalBytes: b.TotalSize,
		DurationSeconds: took.Seconds(), RequestID: requestID, RequestedBy: requestedBy}
	if err != nil {
		e.Event, e.Error = "backup_failed", err.Error()
	}
	return e
}

// ErrBackupGone is Adopt's answer when the backup is not in the bucket
// once the leftovers are settled: it never reached ClickHouse (its
// metadata alone was removed, dropUnsent), so its request has no backup
// and takes one anew.
var ErrBackupGone = errors.New("the backup is gone from the bucket: it never reached ClickHouse")

// Adopt settles a backup a previous run started (it may still be running in
// ClickHouse, where it holds one of turns while waited for) and returns how
// it ended.
func (s *backups) Adopt(ctx context.Context, database, name string, by Requester, progress ProgressFunc, turns Turns) (model.Backup, error) {
	var out model.Backup
	err := s.bucket.WithLease(ctx, database, coord.PurposeBackup, true, func(ctx context.Context) error {
		cat, err := s.catalogs.reconciledCatalog(ctx, database, progress, turns, false)
		if err != nil {
			return err
		}
		// Backup and Cleanup rewrite the index after their own changes;
		// adopting changes nothing more, so the settled catalog is written here.
		s.catalogs.writeIndex(ctx, database, cat.All(), cat.Scanned)
		b, ok := cat.Find(name)
		if !ok {
			return fmt.Errorf("%w: backup %s of database %s", ErrBackupGone, name, database)
		}
		out = b
		return ownOutcome(b)
	})
	if stopped := err != nil && ctx.Err() != nil; !stopped && !errors.Is(err, ErrBackupGone) {
		// The run that sent the BACKUP stopped before it could say how it
		// ended (Backup notifies no stop of a resumable request): this
		// adoption says it, a failure to adopt too (once more if that run
		// was killed after its own notification). A backup gone is taken
		// anew, and Backup notifies.
		var took time.Duration
		if out.StartedAt != nil && out.FinishedAt != nil {
			took = out.FinishedAt.Sub(*out.StartedAt)
		}
		said := out
		if said.Name == "" {
			said.Name = name // not found, or not read: the event still names it
		}
		s.emit(ctx, backupEvent(database, said, err, took, by.RequestID, by.RequestedBy))
	}
	return out, err
}

// ownOutcome is how an adopted backup ended, as an error (nil: completed).
func ownOutcome(b model.Backup) error {
	if b.Completed() {
		return nil
	}
	return fmt.Errorf("backup %s failed: %s", b.Name, b.Error)
}

func (s *backups) runBackup(ctx context.Context, req BackupRequest, cat model.Catalog, plan model.Plan, snap snapshot) (model.Backup, error) {
	turn, err := req.Turns.take(ctx)
	if err != nil {
		return model.Backup{}, fmt.Errorf("back up %s: %w", req.Database, err)
	}
	defer turn.end() // whatever happens on the way, the turn is given back
	b := s.newBackup(string(req.Database), cat, plan, snap)
	b.RequestID = req.RequestID
	b.TableSet = req.Tables
	b.Tables = req.Tables.Filter(b.Tables)
	// The metadata is written before the BACKUP is sent: a run killed from
	// here on leaves a folder that says what it is, and whose request it
	// serves, to be adopted later.
	if err := s.catalogs.writeMeta(ctx, b); err != nil {
		return model.Backup{}, err
	}
	s.fault("meta-written")
	baseFolder := ""
	if plan.Kind == model.KindIncremental {
		baseFolder = plan.Base.Folder
	}
	cmd := BackupCommand{Database: string(req.Database), Folder: b.Folder, BaseFolder: baseFolder, Tables: req.Tables}
	return s.sendBackup(ctx, req, b, cmd, turn)
}

// snapshot is what ClickHouse says just before a backup: its version and
// the row counts, for verify to compare with (rows written in between make
// verify report a difference, never hide one).
type snapshot struct {
	version string
	tables  map[string]uint64
}

// prepareBackup checks that the database exists, plans the backup and takes
// the snapshot, all at once: they are reads, and none needs another.
func (s *backups) prepareBackup(ctx context.Context, req BackupRequest, name model.DatabaseName) (model.Catalog, model.Plan, snapshot, error) {
	var cat model.Catalog
	var plan model.Plan
	var snap snapshot
	var dbErr, planErr, versionErr, rowsErr error
	var g errgroup.Group
	g.Go(func() error { dbErr = s.RequireDatabase(ctx, name); return nil })
	g.Go(func() error { cat, plan, planErr = s.catalogs.planBackup(ctx, req); return nil })
	g.Go(func() error { snap.version, versionErr = s.version.get(ctx, s.now(), s.db.Version); return nil })
	g.Go(func() error { snap.tables, rowsErr = s.db.TableRows(ctx, string(req.Database)); return nil })
	_ = g.Wait()
	// A missing database, then the plan's error: they say most about what
	// the request asked.
	switch {
	case dbErr != nil:
		return cat, plan, snap, dbErr
	case planErr != nil:
		return cat, plan, snap, planErr
	case versionErr != nil:
		return cat, plan, snap, fmt.Errorf("read clickhouse version: %w", versionErr)
	case rowsErr != nil:
		return cat, plan, snap, fmt.Errorf("count rows of %s: %w", req.Database, rowsErr)
	}
	for _, table := range req.Tables.Include {
		if _, ok := snap.tables[table]; !ok {
			return cat, plan, snap, fmt.Errorf("include_tables names %s, which database %s does not have: %w",
				table, req.Database, model.ErrTableMissing)
		}
	}
	return cat, plan, snap, nil
}

// newBackup describes the backup about to be taken.
func (s *backups) newBackup(database string, cat model.Catalog, plan model.Plan, snap snapshot) model.Backup {
	now := s.now().UTC()
	name := s.uniqueName(cat, now)
	if name != model.NameAt(now) {
		// The name keeps backups in order even when this clock is behind
		// the newest backup's; the log says the clock is off.
		s.logger.Warn("clock behind the newest backup: naming the backup after it", "database", database,
			"now", model.NameAt(now), "name", name)
	}
	b := model.Backup{Folder: s.layout.Folder(database, string(plan.Kind), name), Meta: model.Meta{
		Version: model.MetaVersion, BackupID: uuid.NewString(), Kind: plan.Kind, Timestamp: now,
		Status: model.StatusCreating, Database: database, StartedAt: &now, Name: name, Chain: name,
		ClickHouseVersion: snap.version, Tables: snap.tables, Host: s.opts.Holder.Name,
		KindReason: plan.Reason, FullForced: plan.Forced,
	}}
	if plan.Kind == model.KindIncremental {
		base := plan.Base.Folder
		b.BaseBackupPath, b.Base, b.Chain = &base, plan.Base.Name, plan.Chain
	}
	return b
}

// uniqueName is the name for now, moved on a millisecond past any existing
// backup of the database, so names stay unique and ordered.
func (s *backups) uniqueName(cat model.Catalog, now time.Time) string {
	for {
		name := model.NameAt(now)
		if _, taken := cat.Find(name); !taken {
			if newest := cat.All(); len(newest) == 0 || newest[0].Name < name {
				return name
			}
		}
		now = now.Add(time.Millisecond)
	}
}

// awaitBackup waits for a backup's operation to end. Its turn (nil: none)
// is given back when its .backup object is seen (heldTurn.backupObjectSeen).
func (s *backups) awaitBackup(ctx context.Context, b model.Backup, progress ProgressFunc, turn *heldTurn) (Operation, error) {
	return s.waitOperation(ctx, b.BackupID, "backup", b.Name, progress, func(ctx context.Context) (bool, error) {
		written, err := s.store.Exists(ctx, coord.BackupFileKey(b.Folder))
		if written {
			turn.backupObjectSeen()
		}
		return written, err
	})
}

// settle records how a backup's operation ended (awaitBackup's op and
// err). If ctx ended first the metadata stays "running", for the next run
// to adopt.
func (s *backups) settle(ctx context.Context, b model.Backup, op Operation, err error) (model.Backup, error) {
	switch {
	case errors.Is(err, ErrNotFound):
		return s.settleUnknown(ctx, b)
	case err != nil && ctx.Err() != nil:
		return b, err
	case err != nil:
		return s.finishFailed(ctx, b, err)
	case op.Status != OpBackupCreated:
		s.logger.Warn("clickhouse's whole error", "backup", b.Name, "error", op.ErrorDetail)
		return s.finishFailed(ctx, b, fmt.Errorf("clickhouse ended backup %s with %s: %s", b.Name, op.Status, op.Error))
	}
	s.fault("backup-created")
	return s.finishCreated(ctx, b, op)
}

// settleUnknown handles a backup ClickHouse no longer knows (it restarted):
// its .backup object decides.
func (s *backups) settleUnknown(ctx context.Context, b model.Backup) (model.Backup, error) {
	ok, err := s.store.Exists(ctx, coord.BackupFileKey(b.Folder))
	if err != nil {
		return b, fmt.Errorf("look for %s of %s: %w", coord.BackupFile, b.Name, err)
	}
	listing, err := s.store.List(ctx, b.Folder, true)
	if err != nil {
		return b, fmt.Errorf("list backup %s: %w", b.Name, err)
	}
	if !ok {
		if onlyMeta(listing, b.Folder) {
			return s.dropUnsent(ctx, b)
		}
		return s.finishFailed(ctx, b, fmt.Errorf("clickhouse no longer knows operation %s of backup %s, so it "+
			"restarted while the backup ran, and the backup has no %s object", b.BackupID, b.Name, coord.BackupFile))
	}
	op := Operation{Status: OpBackupCreated, EndTime: s.now()}
	for _, o := range listing.Objects {
		if o.Key != coord.MetaKey(b.Folder) {
			op.NumFiles++
			op.TotalSize += uint64(max(o.Size, 0)) // a listing's sizes are never negative
		}
	}
	return s.finishCreated(ctx, b, op)
}

// onlyMeta reports whether a folder holds nothing but ClickVault's metadata.
func onlyMeta(l coord.Listing, folder string) bool {
	for _, o := range l.Objects {
		if o.Key != coord.MetaKey(folder) {
			return false
		}
	}
	return true
}

// dropUnsent removes a backup ClickHouse never wrote a byte of: it does
// not know the operation and the folder holds only the metadata, so the
// BACKUP never reached it (the sidecar stopped before sending it) or it
// restarted before writing anything. Nothing was backed up and nothing is
// kept; a request whose backup this was takes it anew.
func (s *backups) dropUnsent(ctx context.Context, b model.Backup) (model.Backup, error) {
	err := fmt.Errorf("backup %s never reached ClickHouse, or ClickHouse restarted before writing any of it: "+
		"its folder held only ClickVault's metadata, which is removed", b.Name)
	s.logger.Warn("removing a backup that holds nothing", "backup", b.Name, "reason", err)
	if delErr := s.store.Delete(context.WithoutCancel(ctx), []string{coord.MetaKey(b.Folder)}); delErr != nil {
		return s.finishFailed(ctx, b, fmt.Errorf("%w; removing it failed: %w", err, delErr))
	}
	return b, err // still "creating" here: no outcome is recorded for a folder that is gone
}

// finishCreated marks a backup completed once its .backup object exists.
func (s *backups) finishCreated(ctx context.Context, b model.Backup, op Operation) (model.Backup, error) {
	size, ok, err := s.catalogs.objectSize(ctx, coord.BackupFileKey(b.Folder))
	if err != nil {
		return b, fmt.Errorf("look for %s of %s: %w", coord.BackupFile, b.Name, err)
	}
	if !ok {
		return s.finishFailed(ctx, b, fmt.Errorf("clickhouse reported backup %s created, but its %s object is missing", b.Name, coord.BackupFile))
	}
	b.TableBytes, b.Objects = s.catalogs.manifestFacts(ctx, b, size)
	end := op.EndTime.UTC()
	if end.IsZero() {
		end = s.now().UTC()
	}
	b.Status, b.FinishedAt, b.Error = model.StatusCreated, &end, ""
	b.NumFiles, b.TotalSize = op.NumFiles, op.TotalSize
	b.UncompressedSize, b.CompressedSize = op.UncompressedSize, op.CompressedSize
	if err := s.catalogs.writeMeta(ctx, b); err != nil {
		return b, err
	}
	s.logger.Info("backup completed", "database", b.Database, "backup", b.Name, "kind", b.Kind,
		"files", b.NumFiles, "bytes", b.TotalSize)
	return b, nil
}

// finishFailed records the failure in metadata (never as completed) and
// returns cause. If the metadata cannot be written it stays "running" and
// the next run settles it from system.backups.
func (s *backups) finishFailed(ctx context.Context, b model.Backup, cause error) (model.Backup, error) {
	end := s.now().UTC()
	b.Status, b.FinishedAt, b.Error = model.StatusFailed, &end, cause.Error()
	writeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.catalogs.writeMeta(writeCtx, b); err != nil {
		s.logger.Warn("record failed backup; the next run will settle it", "backup", b.Name, "err", err)
	}
	return b, cause
}
