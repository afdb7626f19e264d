package sidecar

import (
	"context"
	"fmt"
	"strings"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// CleanupReport says what a cleanup deleted (or would delete) and found.
type CleanupReport struct {
	Database string
	DryRun   bool
	Planned  []model.Deletion
	Deleted  []string     // backup names, in the order deleted
	Kept     []string     // chain names
	Keeps    []model.Keep // every backup kept, with why
	Orphans  []model.Orphan
	// Pins are the live pins that kept backups (PinNotes says them);
	// IgnoredPins the stale ones (removed by a cleanup that is not a dry
	// run) and those naming a backup that is gone.
	Pins        []coord.FoundPin
	IgnoredPins []model.IgnoredPin
	// Locked are the backups the rules would delete that the bucket's
	// Object Lock still holds: kept, with every backup they are built on,
	// until it lets go (LockNotes says until when).
	Locked []model.Locked
}

// cleaner applies retention under the database's lease, honouring pins.
type cleaner struct {
	*engine
	catalogs *catalogs
}

// Cleanup applies retention to one database under its lease. A dry run
// only plans. Deletion stops at the first failure, so no survivor ever
// points at a deleted base.
func (s *cleaner) Cleanup(ctx context.Context, database string, dryRun bool) (CleanupReport, error) {
	start := s.now()
	report := CleanupReport{Database: database, DryRun: dryRun}
	err := model.ValidateIdentifier("database", database)
	if err == nil && dryRun {
		_, err = s.planCleanup(ctx, database, &report, false)
	} else if err == nil {
		err = s.bucket.WithLease(ctx, database, coord.PurposeCleanup, true, func(ctx context.Context) error {
			cat, err := s.planCleanup(ctx, database, &report, true)
			if err != nil {
				return err
			}
			// The index learns of the deletions before any metadata does.
			s.catalogs.writeIndex(ctx, database, markDeleting(cat.All(), report.Planned), cat.Scanned)
			err = s.deleteAll(ctx, &report)
			s.catalogs.writeIndex(ctx, database, withoutDeleted(cat.All(), &report), cat.Scanned)
			s.removeStalePins(ctx, report.IgnoredPins)
			return err
		})
	}
	if !dryRun {
		e := Event{Event: "cleanup_completed", Database: database, DurationSeconds: s.now().Sub(start).Seconds(),
			Backup: strings.Join(report.Deleted, ",")}
		if err != nil {
			e.Event, e.Error = "cleanup_failed", err.Error()
		}
		s.emit(ctx, e)
	}
	return report, err
}

func (s *cleaner) planCleanup(ctx context.Context, database string, report *CleanupReport, reconcile bool) (model.Catalog, error) {
	var cat model.Catalog
	var err error
	if reconcile {
		cat, err = s.catalogs.reconciledCatalog(ctx, database, nil, Turns{}, true) // deletions plan from every metadata object
	} else {
		cat, err = s.catalogs.Catalog(ctx, database)
	}
	if err != nil {
		return model.Catalog{}, err
	}
	// Read under the lease, after it was taken: a pin written before this
	// LIST is seen here, and the holder of one written after it waits for
	// this cleanup to end (pin.go).
	pins, err := s.bucket.ReadPins(ctx, database)
	if err != nil {
		return model.Catalog{}, err
	}
	now := s.now()
	plan := model.PlanCleanupPinned(cat, s.opts.Retention, now, pins)
	held, err := s.heldBackups(ctx, plan.Delete)
	if err != nil {
		return model.Catalog{}, err
	}
	if len(held) > 0 {
		plan = model.PlanCleanupLocked(cat, s.opts.Retention, now, pins, held)
	}
	report.Planned, report.Kept, report.Keeps, report.Orphans = plan.Delete, plan.Kept, plan.Keeps, plan.Orphans
	report.Pins, report.IgnoredPins, report.Locked = plan.Pins, plan.IgnoredPins, plan.Locked
	for _, o := range plan.Orphans {
		s.logger.Warn("orphan in the bucket; not deleted", "folder", o.Folder, "reason", o.Reason)
	}
	for _, p := range plan.Pins {
		s.logger.Info("kept: pinned", "database", database, "backup", p.Backup, "by", p.Describe())
	}
	for _, ip := range plan.IgnoredPins {
		s.logger.Warn("pin ignored", "database", database, "pin", ip.Pin.Key, "by", ip.Pin.Describe(), "reason", ip.Reason)
	}
	for _, l := range plan.Locked {
		s.logger.Info("kept: the bucket's Object Lock holds it", "database", database, "backup", l.Backup.Name,
			"mode", l.Retention.Mode, "until", l.Retention.Until, "legal_hold", l.Retention.LegalHold)
	}
	return cat, nil
}

// markDeleting returns backups with the planned deletions marked DELETING.
func markDeleting(backups []model.Backup, planned []model.Deletion) []model.Backup {
	doomed := map[string]bool{}
	for _, d := range planned {
		doomed[d.Backup.Folder] = true
	}
	out := make([]model.Backup, len(backups))
	for i, b := range backups {
		if doomed[b.Folder] {
			b.Status = model.StatusDeleting
		}
		out[i] = b
	}
	return out
}

// withoutDeleted returns the backups a cleanup left: the deleted are gone,
// the planned but not deleted stay marked DELETING (their metadata may say so).
func withoutDeleted(backups []model.Backup, r *CleanupReport) []model.Backup {
	deleted := map[string]bool{}
	for _, name := range r.Deleted {
		deleted[name] = true
	}
	var out []model.Backup
	for _, b := range markDeleting(backups, r.Planned) {
		if !deleted[b.Name] {
			out = append(out, b)
		}
	}
	return out
}

func (s *cleaner) deleteAll(ctx context.Context, report *CleanupReport) error {
	for _, d := range report.Planned {
		if err := s.deleteBackup(ctx, d.Backup); err != nil {
			return fmt.Errorf("cleanup stopped at %s (%d of %d deleted): %w",
				d.Backup.Name, len(report.Deleted), len(report.Planned), err)
		}
		report.Deleted = append(report.Deleted, d.Backup.Name)
		s.logger.Info("backup deleted", "backup", d.Backup.Name, "reason", d.Reason)
	}
	return nil
}

// deleteBackup first marks the metadata DELETING, so a half-deleted backup
// is never taken for a base, then deletes the data and the metadata last.
func (s *cleaner) deleteBackup(ctx context.Context, b model.Backup) error {
	if b.Legacy {
		// Whatever happens from here, the seed layout's memo is no longer
		// what the bucket holds: the next catalog lists it again.
		defer s.catalogs.legacy.forget()
	}
	if b.Status != model.StatusDeleting {
		b.Status = model.StatusDeleting
		now := s.now().UTC()
		b.FinishedAt = &now
		if err := s.catalogs.writeMeta(ctx, b); err != nil {
			return err
		}
	}
	listing, err := s.store.List(ctx, b.Folder, true)
	if err != nil {
		return fmt.Errorf("list %s: %w", b.Folder, err)
	}
	var data []string
	for _, o := range listing.Objects {
		if o.Key != coord.MetaKey(b.Folder) {
			data = append(data, o.Key)
		}
	}
	if err := s.store.Delete(ctx, data); err != nil {
		return fmt.Errorf("delete data of %s: %w", b.Name, err)
	}
	if err := s.store.Delete(ctx, []string{coord.MetaKey(b.Folder)}); err != nil {
		return fmt.Errorf("delete metadata of %s: %w", b.Name, err)
	}
	return nil
}
