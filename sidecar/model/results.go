package model

import (
	"time"
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
	Verdict        VerifyVerdict `json:"status"` // "status" in the results file since its first version
	Problem        string        `json:"problem,omitempty"`
	RestoreSeconds float64       `json:"restore_seconds"`
	VerifiedAt     time.Time     `json:"verified_at"`
}

// VerifyVerdict is what a verify found of a backup.
type VerifyVerdict string

const (
	VerifyPassed VerifyVerdict = "passed"
	VerifyFailed VerifyVerdict = "failed"
)

// Fill gives Results its maps: a file without them reads as none.
func (f *Results) Fill() {
	if f.Checks == nil {
		f.Checks = map[string]BackupCheck{}
	}
	if f.Verifies == nil {
		f.Verifies = map[string]VerifyRecord{}
	}
}

// ForgetGone drops the results of backups that are no longer in the
// catalog (deleted by a cleanup), so the file does not grow forever.
func ForgetGone[T any](cat Catalog, results map[string]T) {
	for name := range results {
		if _, ok := cat.Find(name); !ok {
			delete(results, name)
		}
	}
}
