package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// CheckFile, in a database's folder, keeps the last check of each backup:
// apart from the backups' metadata, so a check never writes what a backup
// or a cleanup owns, and needs no lease.
const CheckFile = ".clickvault_check.json"

// CheckKey is where a database's check results are.
func (l Layout) CheckKey(database string) string { return l.under(database, CheckFile) }

// Results are a database's last check and last verify of each backup, by
// backup name: the content of its CheckFile.
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
func (s *Service) Results(ctx context.Context, database string) (Results, error) {
	f, _, err := s.readChecks(ctx, database)
	return f, err
}

func (s *Service) readChecks(ctx context.Context, database string) (Results, string, error) {
	f := Results{Checks: map[string]BackupCheck{}, Verifies: map[string]VerifyRecord{}}
	data, etag, err := s.store.Get(ctx, s.layout.CheckKey(database))
	if errors.Is(err, ErrNotFound) {
		return f, "", nil
	}
	if err != nil {
		return f, "", fmt.Errorf("read check results of %s: %w", database, err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return Results{Checks: map[string]BackupCheck{}, Verifies: map[string]VerifyRecord{}}, etag, nil // a damaged file is replaced
	}
	if f.Checks == nil {
		f.Checks = map[string]BackupCheck{}
	}
	if f.Verifies == nil {
		f.Verifies = map[string]VerifyRecord{}
	}
	return f, etag, nil
}

// saveChecks merges results into the database's check file with a
// conditional write, so two checks at once both land.
func (s *Service) saveChecks(ctx context.Context, cat Catalog, results []CheckedBackup) error {
	return s.updateChecks(ctx, cat, func(f *Results) {
		for _, r := range results {
			f.Checks[r.Backup.Name] = r.BackupCheck
		}
	})
}

// saveVerify records a verify's outcome; a failure to record it is only
// logged, as the verify itself is done.
func (s *Service) saveVerify(ctx context.Context, cat Catalog, res VerifyResult, verifyErr error) {
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

// updateChecks applies change to the database's check file with a
// conditional write, so two checks or verifies at once both land.
func (s *Service) updateChecks(ctx context.Context, cat Catalog, change func(*Results)) error {
	database := cat.Database
	for range 5 {
		f, etag, err := s.readChecks(ctx, database)
		if err != nil {
			return err
		}
		change(&f)
		forgetGone(cat, f.Checks)
		forgetGone(cat, f.Verifies)
		data, err := json.MarshalIndent(f, "", "  ")
		if err != nil {
			return fmt.Errorf("encode check results: %w", err)
		}
		cond := PutCondition{IfMatch: etag}
		if etag == "" {
			cond = PutCondition{IfNoneMatch: true}
		}
		_, err = s.store.Put(ctx, s.layout.CheckKey(database), data, cond)
		if !errors.Is(err, ErrPreconditionFailed) {
			if err != nil {
				return fmt.Errorf("write check results of %s: %w", database, err)
			}
			return nil
		}
	}
	return fmt.Errorf("write check results of %s: it kept changing under this check", database)
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
