package sidecar

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// Results are a database's last check and last verify of each backup, by
// backup name: the content of its check results' file (coord.Layout.CheckKey),
// in the database's folder, apart from the backups' metadata, so a check
// never writes what a backup or a cleanup owns, and needs no lease.
type Results struct {
	Checks   map[string]BackupCheck  `json:"backups"`
	Verifies map[string]VerifyRecord `json:"verifies,omitempty"`
}

// VerifyRecord is the last verify of a backup.
type VerifyRecord struct {
	Status         string    `json:"status"` // passed or failed
	Problem        string    `json:"problem,omitempty"`
	RestoreSeconds float64   `json:"restore_seconds"`
	VerifiedAt     time.Time `json:"verified_at"`
}

// Verify statuses.
const (
	VerifyPassed = "passed"
	VerifyFailed = "failed"
)

// Results reads the last check and verify of each backup of a database
// (none if it was never checked or verified), in one GET.
func (s *checks) Results(ctx context.Context, database string) (Results, error) {
	var f Results
	err := s.bucket.ReadChecks(ctx, database, &f)
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, coord.ErrUnreadable) {
		return Results{}, fmt.Errorf("read check results of %s: %w", database, err)
	}
	if err != nil {
		f = Results{} // none yet, or a damaged file the next check replaces
	}
	f.fill()
	return f, nil
}

// fill gives Results its maps: a file without them reads as none.
func (f *Results) fill() {
	if f.Checks == nil {
		f.Checks = map[string]BackupCheck{}
	}
	if f.Verifies == nil {
		f.Verifies = map[string]VerifyRecord{}
	}
}

// saveChecks merges results into the database's check file with a
// conditional write, so two checks at once both land.
func (s *checks) saveChecks(ctx context.Context, cat Catalog, results []CheckedBackup) error {
	return s.updateChecks(ctx, cat, func(f *Results) {
		for _, r := range results {
			f.Checks[r.Backup.Name] = r.BackupCheck
		}
	})
}

// saveVerify records a verify's outcome; a failure to record it is only
// logged, as the verify itself is done.
func (s *checks) saveVerify(ctx context.Context, cat Catalog, res VerifyResult, verifyErr error) {
	if res.Backup.Name == "" || ctx.Err() != nil {
		return
	}
	rec := VerifyRecord{Status: VerifyPassed, RestoreSeconds: res.RestoreTook.Seconds(), VerifiedAt: s.now().UTC()}
	if verifyErr != nil {
		rec.Status, rec.Problem = VerifyFailed, firstLine(verifyErr.Error())
	}
	err := s.updateChecks(ctx, cat, func(f *Results) { f.Verifies[res.Backup.Name] = rec })
	if err != nil {
		s.logger.Warn("record the verify's outcome", "backup", res.Backup.Name, "err", err)
	}
}

// updateChecks applies change to the database's check results with a
// conditional write (coord.UpdateChecks), so two checks or verifies at once
// both land; results of backups no longer in the catalog are dropped.
func (s *checks) updateChecks(ctx context.Context, cat Catalog, change func(*Results)) error {
	return coord.UpdateChecks(ctx, s.bucket, cat.Database, func(f *Results) {
		f.fill()
		change(f)
		forgetGone(cat, f.Checks)
		forgetGone(cat, f.Verifies)
	})
}

// forgetGone drops the results of backups that are no longer in the
// catalog (deleted by a cleanup), so the file does not grow forever.
func forgetGone[T any](cat Catalog, results map[string]T) {
	for name := range results {
		if _, ok := cat.Find(name); !ok {
			delete(results, name)
		}
	}
}
