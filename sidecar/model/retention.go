package model

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// Retention says which backups to keep. A backup is kept if any rule keeps
// it, and a kept backup keeps every backup it is built on.
type Retention struct {
	KeepFullBackups int           // the newest chains kept whole, at least 1
	KeepFor         time.Duration // also keep every chain younger than this whole (0 = off)
	// Calendar rules: the newest completed backup of each of the last
	// KeepDaily days, KeepWeekly ISO weeks, KeepMonthly months and
	// KeepYearly years (UTC) that have one.
	KeepDaily, KeepWeekly, KeepMonthly, KeepYearly int
	MinAge                                         time.Duration // no backup younger than this is deleted, by any rule
}

// Deletion is one backup folder to delete, with why.
type Deletion struct {
	Backup Backup
	Reason string
}

// Keep is why a backup is kept: the rules that keep it, or the kept backup
// that needs it as a base.
type Keep struct {
	Backup   Backup
	Rules    []string // "keep_full_backups", "daily 2026-11-30", "needed by …", …
	NeededBy string   // the newest kept backup built on it, when only that keeps it
}

// CleanupPlan is what a cleanup deletes and keeps, in order.
type CleanupPlan struct {
	Delete      []Deletion       // oldest chain first; in a chain newest first, a full last
	Kept        []string         // names of the chains that keep at least one backup
	Keeps       []Keep           // every backup kept, newest first, with why
	Orphans     []Orphan         // reported, never deleted: ClickVault does not delete what it cannot explain
	Pins        []coord.FoundPin // live pins, honoured: what they name is kept
	IgnoredPins []IgnoredPin     // stale pins, and pins of backups that are gone
	Locked      []Locked         // backups the bucket's Object Lock still holds: kept until it lets go
}

// PlanCleanup applies retention. Whole chains are kept by KeepFullBackups
// (the newest, with a completed full) and KeepFor, a chain with a running
// backup is kept whole, single backups by the calendar rules and MinAge;
// then every backup a kept one is built on is kept too. Everything else is
// deleted, newest first within a chain (so nothing left ever points at a
// deleted base), oldest chain first. Failed backups are deleted first,
// whatever their chain, unless younger than MinAge.
func PlanCleanup(cat Catalog, r Retention, now time.Time) CleanupPlan {
	return PlanCleanupPinned(cat, r, now, nil)
}

// PlanCleanupPinned is PlanCleanup that also keeps what live pins name (see
// keepPinned) and, as for any kept backup, every backup it is built on.
func PlanCleanupPinned(cat Catalog, r Retention, now time.Time, pins []coord.FoundPin) CleanupPlan {
	return PlanCleanupLocked(cat, r, now, pins, nil)
}

// PlanCleanupLocked is PlanCleanupPinned that also keeps the backups the
// bucket's Object Lock holds at now (locks, by name: see keepLocked) and,
// as for any kept backup, every backup it is built on.
func PlanCleanupLocked(cat Catalog, r Retention, now time.Time, pins []coord.FoundPin, locks map[string]coord.Retention) CleanupPlan {
	plan := CleanupPlan{Orphans: cat.Orphans}
	rules := map[string][]string{}
	keepWholeChains(cat, r, now, rules)
	keepByCalendar(cat, r, rules)
	plan.Pins, plan.IgnoredPins = keepPinned(cat, pins, now, rules)
	plan.Locked = keepLocked(cat, locks, now, rules)
	for _, b := range cat.All() {
		if r.MinAge > 0 && now.Sub(b.Time()) < r.MinAge {
			rules[b.Name] = append(rules[b.Name], "younger than min_age")
		}
	}
	needed := ancestorsOfKept(cat, rules)
	var failed []Deletion                       // first: nothing is built on them, and they free space at once
	for i := len(cat.Chains) - 1; i >= 0; i-- { // oldest chain first
		ch := cat.Chains[i]
		keptAny := false
		for j := len(ch.Members) - 1; j >= 0; j-- {
			m := ch.Members[j]
			switch {
			case m.Status == StatusCreating:
				keptAny = true
			case m.Failed() && len(rules[m.Name]) == 0:
				failed = append(failed, Deletion{Backup: m, Reason: "failed backup: " + FirstLine(m.Error)})
			case m.Failed():
			case len(rules[m.Name]) > 0 || needed[m.Name] != "":
				keptAny = true
			default:
				plan.Delete = append(plan.Delete, Deletion{Backup: m, Reason: deleteReason(ch, r)})
			}
		}
		if keptAny {
			plan.Kept = append([]string{ch.Name()}, plan.Kept...)
		}
	}
	plan.Delete = append(failed, plan.Delete...)
	for _, b := range cat.All() {
		if len(rules[b.Name]) > 0 || (needed[b.Name] != "" && !b.Failed()) {
			plan.Keeps = append(plan.Keeps, Keep{Backup: b, Rules: rules[b.Name], NeededBy: needed[b.Name]})
		}
	}
	return plan
}

// keepWholeChains marks every member of a running chain, of a chain
// younger than KeepFor, and of the newest KeepFullBackups completed chains.
func keepWholeChains(cat Catalog, r Retention, now time.Time, rules map[string][]string) {
	complete := 0
	for _, ch := range cat.Chains { // newest first
		var rule string
		switch {
		case ch.Running():
			rule = "a backup of its chain is running"
		case r.KeepFor > 0 && chainYounger(ch, now, r.KeepFor):
			rule = fmt.Sprintf("its chain is younger than keep_days (%s)", r.KeepFor)
		case ch.Full.Completed() && complete < r.KeepFullBackups:
			rule = fmt.Sprintf("keep_full_backups (chain %d of the newest %d)", complete+1, r.KeepFullBackups)
		}
		if ch.Full.Completed() && complete < r.KeepFullBackups {
			complete++
		}
		if rule == "" {
			continue
		}
		for _, m := range ch.Members {
			if !m.Failed() {
				rules[m.Name] = append(rules[m.Name], rule)
			}
		}
	}
}

func chainYounger(ch Chain, now time.Time, d time.Duration) bool {
	newest, ok := ch.Newest()
	return ok && now.Sub(newest.Time()) < d
}

// calendarRule names a period and how many of them to keep.
type calendarRule struct {
	name   string
	keep   int
	period func(time.Time) string
}

// keepByCalendar keeps, for each rule, the newest restorable backup of each
// of the rule's newest periods that have one.
func keepByCalendar(cat Catalog, r Retention, rules map[string][]string) {
	for _, rule := range []calendarRule{
		{"daily", r.KeepDaily, func(t time.Time) string { return t.Format("2006-01-02") }},
		{"weekly", r.KeepWeekly, func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprintf("%d-W%02d", y, w) }},
		{"monthly", r.KeepMonthly, func(t time.Time) string { return t.Format("2006-01") }},
		{"yearly", r.KeepYearly, func(t time.Time) string { return t.Format("2006") }},
	} {
		if rule.keep <= 0 {
			continue
		}
		last, kept := "", 0
		for _, b := range cat.All() { // newest first
			if kept == rule.keep {
				break
			}
			if !b.Completed() || !cat.Restorable(b) {
				continue
			}
			if p := rule.period(b.Time().UTC()); p != last {
				last, kept = p, kept+1
				rules[b.Name] = append(rules[b.Name], rule.name+" "+p)
			}
		}
	}
}

// keepPinned gives the backup a live pin names (every backup that has not
// failed, for a pin that names none yet) the rule "pinned by …". A stale pin
// (no heartbeat for coord.PinStaleAfter: its holder is gone) is ignored, and so is
// one naming a backup the catalog no longer holds; both are reported.
func keepPinned(cat Catalog, pins []coord.FoundPin, now time.Time, rules map[string][]string) ([]coord.FoundPin, []IgnoredPin) {
	var kept []coord.FoundPin
	var ignored []IgnoredPin
	for _, p := range pins {
		if p.Stale(now) {
			ignored = append(ignored, IgnoredPin{Pin: p, Reason: fmt.Sprintf(
				"stale: its last heartbeat (%s) is over %s old, so its holder is gone",
				p.Seen.UTC().Format(time.RFC3339), coord.PinStaleAfter)})
			continue
		}
		if p.Backup == "" {
			for _, b := range cat.All() {
				if !b.Failed() {
					rules[b.Name] = append(rules[b.Name], PinRule(p))
				}
			}
			kept = append(kept, p)
			continue
		}
		if _, ok := cat.Find(p.Backup); !ok {
			ignored = append(ignored, IgnoredPin{Pin: p, Reason: "it pins backup " + p.Backup + ", which the bucket no longer holds"})
			continue
		}
		rules[p.Backup] = append(rules[p.Backup], PinRule(p))
		kept = append(kept, p)
	}
	return kept, ignored
}

// ancestorsOfKept returns every backup a kept backup is built on, with the
// newest kept backup that needs it.
func ancestorsOfKept(cat Catalog, rules map[string][]string) map[string]string {
	needed := map[string]string{}
	all := cat.All() // newest first: the first kept backup to reach an ancestor is the newest
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time().After(all[j].Time()) })
	for _, b := range all {
		if len(rules[b.Name]) == 0 {
			continue
		}
		for base, ok := cat.Find(b.Base); ok; base, ok = cat.Find(base.Base) {
			if needed[base.Name] == "" {
				needed[base.Name] = b.Name
			}
		}
	}
	return needed
}

func deleteReason(ch Chain, r Retention) string {
	if !ch.Full.Completed() {
		return fmt.Sprintf("chain %s has no completed full backup", ch.Name())
	}
	if r.KeepDaily+r.KeepWeekly+r.KeepMonthly+r.KeepYearly == 0 {
		return fmt.Sprintf("chain %s is older than the %d newest", ch.Name(), r.KeepFullBackups)
	}
	return fmt.Sprintf("no rule keeps it (chain %s is older than the %d newest) and no kept backup is built on it",
		ch.Name(), r.KeepFullBackups)
}

// FirstLine is the first line of a possibly multi-line error text.
func FirstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
