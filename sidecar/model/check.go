package model

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// CheckVerdict is what a check found of a backup.
type CheckVerdict string

const (
	CheckGood   CheckVerdict = "good"
	CheckBroken CheckVerdict = "broken"
)

// BackupCheck is what the last check found of one backup.
type BackupCheck struct {
	Verdict   CheckVerdict `json:"status"`            // "status" in the results file since its first version
	Problem   string       `json:"problem,omitempty"` // the first missing or short object, or the broken base
	CheckedAt time.Time    `json:"checked_at"`
}

// CheckedBackup is a backup and what the check found.
type CheckedBackup struct {
	Backup Backup
	BackupCheck
}

// CheckReport is one check of a database's backups, oldest first.
type CheckReport struct {
	Database string
	Backups  []CheckedBackup
	Objects  int // objects confirmed present with their size
}

// Broken counts the broken backups.
func (r CheckReport) Broken() int {
	n := 0
	for _, b := range r.Backups {
		if b.Verdict == CheckBroken {
			n++
		}
	}
	return n
}

// ErrBroken says a check found a backup that cannot be restored.
var ErrBroken = errors.New("a backup is broken")

// FirstBroken is the first broken backup of the report (oldest chain
// first, oldest backup first within it), if any.
func (r CheckReport) FirstBroken() CheckedBackup {
	for _, b := range r.Backups {
		if b.Verdict == CheckBroken {
			return b
		}
	}
	return CheckedBackup{}
}

// ChainOf is the run of targets from i on that share targets[i]'s chain.
func ChainOf(targets []Backup, i int) []Backup {
	j := i
	for j < len(targets) && targets[j].Chain == targets[i].Chain {
		j++
	}
	return targets[i:j]
}

// CheckTargets are the completed backups to check, chain by chain, oldest
// first within a chain: all of them, or the named one and those it is
// built on.
func CheckTargets(cat Catalog, name string) ([]Backup, error) {
	var out []Backup
	if name == "" {
		for _, b := range cat.All() {
			if b.Completed() {
				out = append(out, b)
			}
		}
	} else {
		b, ok := cat.Find(name)
		if !ok || !b.Completed() {
			return nil, fmt.Errorf("backup %q of database %s is not a completed backup: %w", name, cat.Database, ErrBackupMissing)
		}
		for ok {
			out = append(out, b)
			b, ok = cat.Find(b.Base)
		}
	}
	slices.SortFunc(out, func(a, b Backup) int {
		if a.Chain != b.Chain {
			return strings.Compare(a.Chain, b.Chain) // a chain's name is its full's: oldest chain first
		}
		return a.Time().Compare(b.Time())
	})
	return out, nil
}
