package model

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// Retention's rules at their edges: each setting off, at its exact
// boundary, and each rule after one that keeps nothing. Written for the
// mutation run (docs/mutants.md).

// keptNames are the names a plan keeps, and deletedNames those it deletes.
func keptNames(p CleanupPlan) []string {
	var out []string
	for _, k := range p.Keeps {
		out = append(out, k.Backup.Name)
	}
	slices.Sort(out)
	return out
}

func deletedNames(p CleanupPlan) []string {
	var out []string
	for _, d := range p.Delete {
		out = append(out, d.Backup.Name)
	}
	return out
}

func sorted(names ...string) []string { slices.Sort(names); return names }

// TestRetentionSettingsAtTheirEdges: min_age and keep_days keep what is
// younger than them, not what is exactly that old; off (0), they keep
// nothing, not even a backup whose time is ahead of the clock.
func TestRetentionSettingsAtTheirEdges(t *testing.T) {
	old := backup(KindFull, name(0), StatusCreated, nil)
	newer := backup(KindFull, name(10*time.Hour), StatusCreated, nil)
	ahead := backup(KindIncremental, name(30*time.Hour), StatusCreated, &old) // the clock is behind it
	cat := BuildCatalog("db", []Backup{old, newer}, nil)
	now := t0.Add(20 * time.Hour)
	for _, c := range []struct {
		name string
		r    Retention
		want []string
	}{
		{"min_age 10h: newer is exactly that old", Retention{KeepFullBackups: 1, MinAge: 10 * time.Hour}, []string{newer.Name}},
		{"min_age a moment longer", Retention{KeepFullBackups: 1, MinAge: 10*time.Hour + time.Millisecond}, []string{newer.Name}},
		{"min_age 20h: old is exactly that old", Retention{KeepFullBackups: 1, MinAge: 20 * time.Hour}, []string{newer.Name}},
		{"min_age 21h keeps both", Retention{KeepFullBackups: 1, MinAge: 21 * time.Hour}, []string{old.Name, newer.Name}},
		{"keep_days 20h: old is exactly that old", Retention{KeepFullBackups: 1, KeepFor: 20 * time.Hour}, []string{newer.Name}},
		{"keep_days a moment longer", Retention{KeepFullBackups: 1, KeepFor: 20*time.Hour + time.Millisecond}, []string{old.Name, newer.Name}},
	} {
		if got := keptNames(PlanCleanup(cat, c.r, now)); !slices.Equal(got, sorted(c.want...)) {
			t.Errorf("%s: kept %v, want %v", c.name, got, c.want)
		}
	}
	// Off, they keep nothing, not even a chain whose newest backup is
	// ahead of the clock.
	skewed := BuildCatalog("db", []Backup{old, ahead, newer}, nil)
	if got := deletedNames(PlanCleanup(skewed, Retention{KeepFullBackups: 1}, now)); !slices.Equal(got, []string{ahead.Name, old.Name}) {
		t.Errorf("settings off: deleted %v, want %v", got, []string{ahead.Name, old.Name})
	}
}

// TestKeepFullBackupsCountsCompletedChains: a chain whose full failed
// keeps nothing and is not counted; the next completed chains are, with
// the rule saying which of the newest they are.
func TestKeepFullBackupsCountsCompletedChains(t *testing.T) {
	f1 := backup(KindFull, name(0), StatusCreated, nil)
	f2 := backup(KindFull, name(time.Hour), StatusCreated, nil)
	f3 := backup(KindFull, name(2*time.Hour), StatusCreated, nil)
	bad := backup(KindFull, name(3*time.Hour), StatusFailed, nil)
	plan := PlanCleanup(BuildCatalog("db", []Backup{f1, f2, f3, bad}, nil), Retention{KeepFullBackups: 2}, t0.Add(4*time.Hour))
	var rules []string
	for _, k := range plan.Keeps {
		rules = append(rules, k.Backup.Name+": "+strings.Join(k.Rules, ", "))
	}
	want := []string{f3.Name + ": keep_full_backups (chain 1 of the newest 2)", f2.Name + ": keep_full_backups (chain 2 of the newest 2)"}
	if !slices.Equal(rules, want) {
		t.Errorf("keeps %q, want %q", rules, want)
	}
	if got := deletedNames(plan); !slices.Equal(got, []string{bad.Name, f1.Name}) {
		t.Errorf("deleted %v, want the failed full, then %s", got, f1.Name)
	}
}

// TestRunningChainIsKeptWhole: an old chain with a running backup keeps
// every completed member: the running backup is built on them.
func TestRunningChainIsKeptWhole(t *testing.T) {
	f1 := backup(KindFull, name(0), StatusCreated, nil)
	i1 := backup(KindIncremental, name(time.Hour), StatusCreated, &f1)
	f2 := backup(KindFull, name(2*time.Hour), StatusCreated, nil)
	running := backup(KindIncremental, name(3*time.Hour), StatusCreating, &i1)
	plan := PlanCleanup(BuildCatalog("db", []Backup{f1, i1, f2, running}, nil), Retention{KeepFullBackups: 1}, t0.Add(4*time.Hour))
	if len(plan.Delete) != 0 || !slices.Equal(keptNames(plan), sorted(f1.Name, i1.Name, f2.Name, running.Name)) || len(plan.Kept) != 2 {
		t.Errorf("deleted %v, kept %v (chains %v); want nothing deleted", deletedNames(plan), keptNames(plan), plan.Kept)
	}
}

// TestCalendarRulesPastWhatTheyCannotKeep: a rule set to 0 does not stop
// the next; a day's newest backup that failed, or that completed on a
// failed base, is passed over for the newest one that can be restored.
func TestCalendarRulesPastWhatTheyCannotKeep(t *testing.T) {
	day := 24 * time.Hour
	f1 := backup(KindFull, name(0), StatusCreated, nil)
	i1 := backup(KindIncremental, name(day), StatusCreated, &f1)
	bad := backup(KindIncremental, name(day+time.Hour), StatusFailed, &i1)
	onBad := backup(KindIncremental, name(day+2*time.Hour), StatusCreated, &bad)
	failedLast := backup(KindIncremental, name(day+3*time.Hour), StatusFailed, &i1)
	cat := BuildCatalog("db", []Backup{f1, i1, bad, onBad, failedLast}, nil)
	now := t0.Add(3 * day)
	plan := PlanCleanup(cat, Retention{KeepFullBackups: 0, KeepDaily: 0, KeepWeekly: 1}, now)
	rules := map[string][]string{}
	for _, k := range plan.Keeps {
		rules[k.Backup.Name] = k.Rules
	}
	y, w := i1.Time().ISOWeek()
	if want := []string{fmt.Sprintf("weekly %d-W%02d", y, w)}; !slices.Equal(rules[i1.Name], want) {
		t.Errorf("the week's rule went to %v; want %s kept by %v", rules, i1.Name, want)
	}
	if !slices.Contains(keptNames(plan), f1.Name) || slices.Contains(keptNames(plan), onBad.Name) || slices.Contains(keptNames(plan), bad.Name) {
		t.Errorf("kept %v: want %s (the base) and neither %s nor %s", keptNames(plan), f1.Name, onBad.Name, bad.Name)
	}
	if d := plan.Delete[0]; d.Backup.Name != failedLast.Name && d.Backup.Name != bad.Name {
		t.Errorf("first deleted %s, want a failed backup", d.Backup.Name)
	}
}

// TestPinsPastIgnoredOnes: a stale pin, a pin of a backup that is gone
// and a pin of every backup do not stop the pins after them; what is
// ignored is reported, never kept.
func TestPinsPastIgnoredOnes(t *testing.T) {
	f1 := backup(KindFull, name(0), StatusCreated, nil)
	f2 := backup(KindFull, name(time.Hour), StatusCreated, nil)
	f3 := backup(KindFull, name(2*time.Hour), StatusCreated, nil)
	cat := BuildCatalog("db", []Backup{f1, f2, f3}, nil)
	now := t0.Add(3 * time.Hour)
	pin := func(id, b string, seen time.Time) coord.FoundPin {
		return coord.FoundPin{PinInfo: coord.PinInfo{ID: id, Database: "db", Backup: b}, Key: id, Seen: seen}
	}
	stale := pin("stale", f2.Name, now.Add(-coord.PinStaleAfter-time.Second))
	gone := pin("gone", "20200101T000000000Z", now)
	live := pin("live", f1.Name, now)
	for _, c := range []struct {
		name string
		pins []coord.FoundPin
		kept []string
	}{
		{"stale first", []coord.FoundPin{stale, live}, []string{f1.Name, f3.Name}},
		{"gone first", []coord.FoundPin{gone, live}, []string{f1.Name, f3.Name}},
		{"every backup first", []coord.FoundPin{pin("all", "", now), live}, []string{f1.Name, f2.Name, f3.Name}},
	} {
		plan := PlanCleanupPinned(cat, Retention{KeepFullBackups: 1}, now, c.pins)
		if got := keptNames(plan); !slices.Equal(got, sorted(c.kept...)) {
			t.Errorf("%s: kept %v, want %v", c.name, got, c.kept)
		}
		var honoured []string
		for _, p := range plan.Pins {
			honoured = append(honoured, p.ID)
		}
		if !slices.Contains(honoured, "live") || slices.Contains(honoured, "stale") || slices.Contains(honoured, "gone") {
			t.Errorf("%s: honoured %v", c.name, honoured)
		}
	}
	plan := PlanCleanupPinned(cat, Retention{KeepFullBackups: 1}, now, []coord.FoundPin{gone})
	if len(plan.IgnoredPins) != 1 || plan.IgnoredPins[0].Pin.ID != "gone" || !strings.Contains(plan.IgnoredPins[0].Reason, "no longer holds") {
		t.Errorf("the pin of a backup that is gone: ignored %+v", plan.IgnoredPins)
	}
}

// TestFailedBaseIsDeletedNotKept: a kept backup built on a failed one
// does not keep it: a failed backup is never a base worth keeping.
func TestFailedBaseIsDeletedNotKept(t *testing.T) {
	f1 := backup(KindFull, name(0), StatusCreated, nil)
	bad := backup(KindIncremental, name(time.Hour), StatusFailed, &f1)
	onBad := backup(KindIncremental, name(2*time.Hour), StatusCreated, &bad)
	plan := PlanCleanup(BuildCatalog("db", []Backup{f1, bad, onBad}, nil), Retention{KeepFullBackups: 1}, t0.Add(3*time.Hour))
	if slices.Contains(keptNames(plan), bad.Name) || !slices.Contains(deletedNames(plan), bad.Name) {
		t.Errorf("kept %v, deleted %v: want the failed base deleted", keptNames(plan), deletedNames(plan))
	}
}

// TestDeleteReasonNamesTheRules: the reason of a deletion says whether
// calendar rules were set, whichever of them is.
func TestDeleteReasonNamesTheRules(t *testing.T) {
	ch := Chain{Full: backup(KindFull, name(0), StatusCreated, nil)}
	for _, r := range []Retention{{KeepDaily: 1, KeepWeekly: 1}, {KeepDaily: 1, KeepMonthly: 1}, {KeepDaily: 1, KeepYearly: 1}, {KeepYearly: 1}} {
		if got := deleteReason(ch, r); !strings.HasPrefix(got, "no rule keeps it") {
			t.Errorf("%+v: %q, want it to say no rule keeps it", r, got)
		}
	}
	if got := deleteReason(ch, Retention{KeepFullBackups: 2}); !strings.HasSuffix(got, "is older than the 2 newest") {
		t.Errorf("no calendar rule: %q", got)
	}
	failed := Chain{Full: backup(KindFull, name(0), StatusFailed, nil)}
	if got := deleteReason(failed, Retention{}); !strings.HasSuffix(got, "has no completed full backup") {
		t.Errorf("a failed full: %q", got)
	}
}
