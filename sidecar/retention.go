package sidecar

import (
	"fmt"
	"strings"
	"time"
)

// Retention says which chains to keep.
type Retention struct {
	KeepFullBackups int           // the newest chains kept, at least 1
	KeepFor         time.Duration // also keep every chain younger than this (0 = off)
}

// Deletion is one backup folder to delete, with why.
type Deletion struct {
	Backup Backup
	Reason string
}

// CleanupPlan is what a cleanup deletes and keeps, in order.
type CleanupPlan struct {
	Delete  []Deletion // oldest chain first; in a chain newest incremental first, the full last
	Kept    []string   // names of the chains kept
	Orphans []Orphan   // reported, never deleted: ClickVault does not delete what it cannot explain
}

// PlanCleanup applies retention to whole chains. It keeps the newest
// KeepFullBackups chains with a completed full and every chain younger than
// KeepFor; a chain with a running backup is always kept. In kept chains it
// deletes only failed backups, which nothing is built on.
func PlanCleanup(cat Catalog, r Retention, now time.Time) CleanupPlan {
	plan := CleanupPlan{Orphans: cat.Orphans}
	keptComplete := 0
	var dropped []Chain
	for _, ch := range cat.Chains { // newest first
		if !keepChain(ch, r, now, keptComplete) {
			dropped = append(dropped, ch)
			continue
		}
		if ch.Full.Completed() {
			keptComplete++
		}
		plan.Kept = append(plan.Kept, ch.Name())
		plan.Delete = append(plan.Delete, failedMembers(ch)...)
	}
	// Oldest dropped chain first, so a cleanup that stops part-way has removed
	// the oldest data.
	for i := len(dropped) - 1; i >= 0; i-- {
		plan.Delete = append(plan.Delete, chainDeletions(dropped[i], r)...)
	}
	return plan
}

// keepChain: a running chain is kept, so is one younger than KeepFor, and
// so are the newest KeepFullBackups chains with a completed full.
func keepChain(ch Chain, r Retention, now time.Time, keptComplete int) bool {
	if ch.Running() {
		return true
	}
	if newest, ok := ch.Newest(); ok && r.KeepFor > 0 && now.Sub(newest.Time()) < r.KeepFor {
		return true
	}
	return ch.Full.Completed() && keptComplete < r.KeepFullBackups
}

func failedMembers(ch Chain) []Deletion {
	var out []Deletion
	for i := len(ch.Members) - 1; i >= 0; i-- {
		if m := ch.Members[i]; m.Failed() {
			out = append(out, Deletion{Backup: m, Reason: "failed backup: " + firstLine(m.Error)})
		}
	}
	return out
}

func chainDeletions(ch Chain, r Retention) []Deletion {
	reason := fmt.Sprintf("chain %s is older than the %d newest", ch.Name(), r.KeepFullBackups)
	if !ch.Full.Completed() {
		reason = fmt.Sprintf("chain %s has no completed full backup", ch.Name())
	}
	var out []Deletion
	for i := len(ch.Members) - 1; i >= 0; i-- {
		out = append(out, Deletion{Backup: ch.Members[i], Reason: reason})
	}
	return out
}

// firstLine is the first line of a possibly multi-line error text.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
