package sidecar

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// DeleteBackups deletes the named backups of a database, in the order
// given, under the database's lease: the retention of a cluster's sets
// (setmodel.PlanSetRetention, run by package cluster) decides them, whole sets at a time, and deletes a
// shard's backups through the engine of that shard. It deletes nothing
// when a name is not in the catalog, when a backup left is built on one of
// them, when a live pin keeps one (a verify or restore reading it or a
// backup built on it), or when the bucket's Object Lock still holds one.
// Deletion stops at the first failure.
func (s *Service) DeleteBackups(ctx context.Context, database string, names []string) ([]string, error) {
	if err := model.ValidateIdentifier("database", database); err != nil {
		return nil, err
	}
	start := s.now()
	report := CleanupReport{Database: database}
	err := s.bucket.WithLease(ctx, database, coord.PurposeCleanup, true, func(ctx context.Context) error {
		cat, err := s.catalogs.reconciledCatalog(ctx, database, nil, Turns{}, true)
		if err != nil {
			return err
		}
		pins, err := s.bucket.ReadPins(ctx, database)
		if err != nil {
			return err
		}
		if report.Planned, err = namedDeletions(cat, names, pinned(cat, pins, s.now)); err != nil {
			return err
		}
		// What the bucket's Object Lock still holds is refused like a
		// pinned backup: a delete would only hide it behind delete markers.
		held, err := s.cleaner.heldBackups(ctx, report.Planned)
		if err != nil {
			return err
		}
		for _, d := range report.Planned {
			if r, ok := held[d.Backup.Name]; ok {
				return fmt.Errorf("delete backup %s: %s", d.Backup.Name, model.LockRule(r))
			}
		}
		s.catalogs.writeIndex(ctx, database, markDeleting(cat.All(), report.Planned), cat.Scanned)
		err = s.cleaner.deleteAll(ctx, &report)
		s.catalogs.writeIndex(ctx, database, withoutDeleted(cat.All(), &report), cat.Scanned)
		return err
	})
	e := Event{Event: "cleanup_completed", Database: database, DurationSeconds: s.now().Sub(start).Seconds(),
		Backup: strings.Join(report.Deleted, ",")}
	if err != nil {
		e.Event, e.Error = "cleanup_failed", err.Error()
	}
	s.emit(ctx, e)
	return report.Deleted, err
}

// namedDeletions are the deletions of names, refused whole when one is
// not there, is pinned, or is the base of a backup not deleted.
func namedDeletions(cat model.Catalog, names []string, pinned map[string]string) ([]model.Deletion, error) {
	var out []model.Deletion
	for _, name := range names {
		b, ok := cat.Find(name)
		if !ok {
			return nil, fmt.Errorf("delete backup %s: the catalog does not hold it", name)
		}
		if why := pinned[name]; why != "" {
			return nil, fmt.Errorf("delete backup %s: %s", name, why)
		}
		out = append(out, model.Deletion{Backup: b, Reason: "no kept set needs it"})
	}
	for _, b := range cat.All() {
		if b.Base != "" && slices.Contains(names, b.Base) && !slices.Contains(names, b.Name) {
			return nil, fmt.Errorf("delete backup %s: backup %s, which is not deleted, is built on it", b.Base, b.Name)
		}
	}
	return out, nil
}

// pinned are the backups live pins keep, each with the pin that keeps it:
// the pinned backup and every base under it, or every backup for a pin
// that names none.
func pinned(cat model.Catalog, pins []coord.FoundPin, now func() time.Time) map[string]string {
	out := map[string]string{}
	for _, p := range pins {
		if p.Stale(now()) {
			continue
		}
		why := model.PinRule(p)
		if p.Backup == "" {
			for _, b := range cat.All() {
				out[b.Name] = why
			}
			continue
		}
		seen := map[string]bool{} // a chain that loops is walked once
		for b, ok := cat.Find(p.Backup); ok && !seen[b.Name]; b, ok = cat.Find(b.Base) {
			out[b.Name], seen[b.Name] = why, true
		}
	}
	return out
}
