package sidecar

import (
	"context"
	"errors"
	"fmt"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// Results reads the last check and verify of each backup of a database
// (none if it was never checked or verified), in one GET.
func (s *checks) Results(ctx context.Context, database string) (model.Results, error) {
	var f model.Results
	err := s.bucket.ReadChecks(ctx, database, &f)
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, coord.ErrUnreadable) {
		return model.Results{}, fmt.Errorf("read check results of %s: %w", database, err)
	}
	if err != nil {
		f = model.Results{} // none yet, or a damaged file the next check replaces
	}
	f.Fill()
	return f, nil
}

// saveChecks merges results into the database's check file with a
// conditional write, so two checks at once both land.
func (s *checks) saveChecks(ctx context.Context, cat model.Catalog, results []model.CheckedBackup) error {
	return s.updateChecks(ctx, cat, func(f *model.Results) {
		for _, r := range results {
			f.Checks[r.Backup.Name] = r.BackupCheck
		}
	})
}

// saveVerify records a verify's outcome; a failure to record it is only
// logged, as the verify itself is done.
func (s *checks) saveVerify(ctx context.Context, cat model.Catalog, res model.VerifyResult, verifyErr error) {
	if res.Backup.Name == "" || ctx.Err() != nil {
		return
	}
	rec := model.VerifyRecord{Verdict: model.VerifyPassed, RestoreSeconds: res.RestoreTook.Seconds(), VerifiedAt: s.now().UTC()}
	if verifyErr != nil {
		rec.Verdict, rec.Problem = model.VerifyFailed, model.FirstLine(verifyErr.Error())
	}
	err := s.updateChecks(ctx, cat, func(f *model.Results) { f.Verifies[res.Backup.Name] = rec })
	if err != nil {
		s.logger.Warn("record the verify's outcome", "backup", res.Backup.Name, "err", err)
	}
}

// updateChecks applies change to the database's check results with a
// conditional write (coord.UpdateChecks), so two checks or verifies at once
// both land; results of backups no longer in the catalog are dropped.
func (s *checks) updateChecks(ctx context.Context, cat model.Catalog, change func(*model.Results)) error {
	return coord.UpdateChecks(ctx, s.bucket, cat.Database, func(f *model.Results) {
		f.Fill()
		change(f)
		model.ForgetGone(cat, f.Checks)
		model.ForgetGone(cat, f.Verifies)
	})
}
