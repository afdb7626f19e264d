package model

import (
	"fmt"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// Locked is a backup a cleanup would delete that the bucket's Object Lock
// still holds: deleting it would only hide it behind delete markers, its
// versions kept and billed until the lock lets go, so it is kept, and
// restorable, until then.
type Locked struct {
	Backup    Backup
	Retention coord.Retention // the longest hold on its objects
}

// LockRule is the rule the bucket's Object Lock gives a backup it holds.
func LockRule(r coord.Retention) string {
	if r.LegalHold {
		return "a legal hold of the bucket's Object Lock keeps its objects"
	}
	return fmt.Sprintf("the bucket's Object Lock (%s) keeps its objects until %s", r.Mode, r.Until.UTC().Format(time.RFC3339))
}

// keepLocked gives each backup of the catalog the lock holds at now the
// rule LockRule, and returns them, newest first.
func keepLocked(cat Catalog, locks map[string]coord.Retention, now time.Time, rules map[string][]string) []Locked {
	var out []Locked
	for _, b := range cat.All() {
		r, ok := locks[b.Name]
		if !ok || !r.Holds(now) {
			continue
		}
		rules[b.Name] = append(rules[b.Name], LockRule(r))
		out = append(out, Locked{Backup: b, Retention: r})
	}
	return out
}
