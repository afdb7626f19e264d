package model

import (
	"fmt"
	"testing"
	"time"
)

// TestCalendarRetentionOverTwoYears: two years of daily backups with a
// full every Monday, and keep_full_backups 1, keep_daily 7, keep_weekly 5,
// keep_monthly 12, keep_yearly 3. The plan keeps exactly the backups the
// rules name and every backup they are built on, deletes everything else
// newest first within a chain, and never leaves an incremental without its
// base.
func TestCalendarRetentionOverTwoYears(t *testing.T) {
	start := time.Date(2025, 1, 6, 2, 0, 0, 0, time.UTC) // a Monday
	const days = 730
	var all []Backup
	for i := 0; i < days; i++ {
		at := start.AddDate(0, 0, i)
		var base *Backup
		kind := KindFull
		if i%7 != 0 {
			base, kind = &all[i-1], KindIncremental
		}
		all = append(all, backup(kind, NameAt(at), StatusCreated, base))
		all[i].Database = "db"
	}
	cat := BuildCatalog("db", all, nil)
	now := start.AddDate(0, 0, days-1).Add(time.Hour)
	r := Retention{KeepFullBackups: 1, KeepDaily: 7, KeepWeekly: 5, KeepMonthly: 12, KeepYearly: 3}
	plan := PlanCleanup(cat, r, now)

	want := expectedKeeps(start, days, r)
	kept := map[string]bool{}
	for _, k := range plan.Keeps {
		kept[k.Backup.Name] = true
	}
	for i := 0; i < days; i++ {
		name := all[i].Name
		if kept[name] != want[i] {
			t.Errorf("backup %d (%s, %s): kept %v, want %v", i, name, start.AddDate(0, 0, i).Weekday(), kept[name], want[i])
		}
	}
	deleted := map[string]bool{}
	for _, d := range plan.Delete {
		if kept[d.Backup.Name] {
			t.Fatalf("%s is both kept and deleted", d.Backup.Name)
		}
		// Within a chain newest first: nothing deleted yet is built on it.
		for _, later := range plan.Delete {
			if later.Backup.Base == d.Backup.Name && !deleted[later.Backup.Name] {
				t.Fatalf("%s is deleted before %s, which is built on it", d.Backup.Name, later.Backup.Name)
			}
		}
		deleted[d.Backup.Name] = true
	}
	if len(deleted)+len(kept) != days {
		t.Fatalf("%d deleted + %d kept != %d backups", len(deleted), len(kept), days)
	}
	for _, b := range all {
		if !deleted[b.Name] && b.Base != "" && deleted[b.Base] {
			t.Fatalf("orphaned incremental: %s kept, its base %s deleted", b.Name, b.Base)
		}
	}
	t.Logf("kept %d of %d backups in %d chains", len(kept), days, len(plan.Kept))
}

// expectedKeeps computes the kept set independently: the rules by date
// arithmetic, then each kept backup's chain up to it (a chain starts on
// the Monday).
func expectedKeeps(start time.Time, days int, r Retention) map[int]bool {
	want := map[int]bool{}
	for i := days - 1 - (days-1)%7; i < days; i++ {
		want[i] = true // the newest chain, whole
	}
	newestPerPeriod := func(period func(time.Time) string, n int) {
		seen := 0
		last := ""
		for i := days - 1; i >= 0 && seen < n; i-- {
			if p := period(start.AddDate(0, 0, i)); p != last {
				last, seen = p, seen+1
				want[i] = true
			}
		}
	}
	newestPerPeriod(func(t time.Time) string { return t.Format("2006-01-02") }, r.KeepDaily)
	newestPerPeriod(func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprint(y, w) }, r.KeepWeekly)
	newestPerPeriod(func(t time.Time) string { return t.Format("2006-01") }, r.KeepMonthly)
	newestPerPeriod(func(t time.Time) string { return t.Format("2006") }, r.KeepYearly)
	for i := range want {
		for j := i - i%7; j < i; j++ {
			want[j] = true
		}
	}
	out := map[int]bool{}
	for i := range want {
		out[i] = true
	}
	return out
}

// TestMinAgeAndWhyKept: min_age keeps a young backup of an old chain (and
// its base); the plan says which rule keeps what.
func TestMinAgeAndWhyKept(t *testing.T) {
	f := backup(KindFull, name(0), StatusCreated, nil)
	i1 := backup(KindIncremental, name(time.Hour), StatusCreated, &f)
	g := backup(KindFull, name(48*time.Hour), StatusCreated, nil)
	cat := BuildCatalog("db", []Backup{f, i1, g}, nil)
	plan := PlanCleanup(cat, Retention{KeepFullBackups: 1, MinAge: 72 * time.Hour}, t0.Add(50*time.Hour))
	if len(plan.Delete) != 0 || len(plan.Keeps) != 3 {
		t.Fatalf("min_age: delete %v, keep %d", plan.Delete, len(plan.Keeps))
	}
	plan = PlanCleanup(cat, Retention{KeepFullBackups: 1, KeepDaily: 2}, t0.Add(50*time.Hour))
	why := map[string]Keep{}
	for _, k := range plan.Keeps {
		why[k.Backup.Name] = k
	}
	if len(why[i1.Name].Rules) != 1 || why[i1.Name].Rules[0] != "daily 2026-11-01" || why[f.Name].NeededBy != i1.Name {
		t.Fatalf("why kept: %+v", why)
	}
}
