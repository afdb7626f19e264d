package model

import (
	"errors"
	"time"
)

// VerifyResult compares a restored backup with what the backup holds.
type VerifyResult struct {
	Backup      Backup
	Scratch     string
	Tables      []TableCheck
	Mismatches  int
	RestoreTook time.Duration // the restore's own time: the measured recovery time
	// Skipped are the tables verify leaves out (restore_plan.go): consumers
	// and tables writing outside are never recreated live by a verify.
	Skipped []PlanEntry
}

// TableCheck is one table of a verify. For a table of the MergeTree family
// Expected is the physical rows of the backup's parts (their count.txt, as
// ClickHouse's manifest lists them: rows a lightweight delete hid count)
// and Restored the physical rows of the restored parts (system.parts):
// exact, whatever was inserted while the backup ran. A table without parts
// in the backup (another engine) is compared by count() with the rows
// recorded just before the backup. Logical is the restored count().
type TableCheck struct {
	Table              string
	Expected, Restored uint64
	Logical            uint64
	FromParts          bool   // compared part by part (exact)
	Missing            bool   // in the backup, not in the restore
	CheckTable         string // "" when CHECK TABLE passed (or the engine has none), else its answer
}

// Failed reports whether the table did not come back as the backup has it.
func (t TableCheck) Failed() bool {
	return t.Missing || t.Expected != t.Restored || t.CheckTable != ""
}

// ErrVerifyMismatch says a restored backup differs from the backup.
var ErrVerifyMismatch = errors.New("the restored tables differ from the backup")
