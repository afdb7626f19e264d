package model

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// TestObjectLockKeepsAtItsEdge: a backup the bucket's Object Lock holds
// is kept with the rule saying until when, and so is its base; a hold
// that ends exactly now holds nothing, a legal hold holds whatever its
// date, and a lock of a backup the catalog does not hold keeps nothing.
func TestObjectLockKeepsAtItsEdge(t *testing.T) {
	full := backup(KindFull, name(0), StatusCreated, nil)
	inc := backup(KindIncremental, name(time.Hour), StatusCreated, &full)
	newest := backup(KindFull, name(2*time.Hour), StatusCreated, nil)
	failed := backup(KindIncremental, name(3*time.Hour), StatusFailed, &newest)
	cat := BuildCatalog("db", []Backup{full, inc, newest, failed}, nil)
	now := t0.Add(10 * time.Hour)
	r := Retention{KeepFullBackups: 1}
	for _, c := range []struct {
		name    string
		locks   map[string]coord.Retention
		deleted []string
		locked  []string
	}{
		{"no lock", nil, []string{failed.Name, inc.Name, full.Name}, nil},
		{"the link held: its base too", map[string]coord.Retention{inc.Name: {Mode: "GOVERNANCE", Until: now.Add(time.Second)}},
			[]string{failed.Name}, []string{inc.Name}},
		{"a hold that ends now", map[string]coord.Retention{inc.Name: {Mode: "GOVERNANCE", Until: now}},
			[]string{failed.Name, inc.Name, full.Name}, nil},
		{"a legal hold on the full, dated long ago", map[string]coord.Retention{full.Name: {Mode: "GOVERNANCE", Until: t0, LegalHold: true}},
			[]string{failed.Name, inc.Name}, []string{full.Name}},
		{"the failed backup held", map[string]coord.Retention{failed.Name: {Mode: "COMPLIANCE", Until: now.Add(time.Hour)}},
			[]string{inc.Name, full.Name}, []string{failed.Name}},
		{"a backup the catalog does not hold", map[string]coord.Retention{"gone": {Mode: "GOVERNANCE", Until: now.Add(time.Hour)}},
			[]string{failed.Name, inc.Name, full.Name}, nil},
	} {
		plan := PlanCleanupLocked(cat, r, now, nil, c.locks)
		var locked []string
		for _, l := range plan.Locked {
			locked = append(locked, l.Backup.Name)
		}
		if got := deletedNames(plan); !slices.Equal(got, c.deleted) || !slices.Equal(locked, c.locked) {
			t.Errorf("%s: deleted %v, locked %v; want %v, %v", c.name, got, locked, c.deleted, c.locked)
		}
	}
	plan := PlanCleanupLocked(cat, r, now, nil, map[string]coord.Retention{inc.Name: {Mode: "GOVERNANCE", Until: now.Add(time.Hour)}})
	for _, k := range plan.Keeps {
		switch k.Backup.Name {
		case inc.Name:
			want := "the bucket's Object Lock (GOVERNANCE) keeps its objects until " + now.Add(time.Hour).UTC().Format(time.RFC3339)
			if len(k.Rules) != 1 || k.Rules[0] != want {
				t.Errorf("the held link's rules: %v, want %q", k.Rules, want)
			}
		case full.Name:
			if k.NeededBy != inc.Name {
				t.Errorf("the full is kept for %q, want for %s", k.NeededBy, inc.Name)
			}
		}
	}
	if got := LockRule(coord.Retention{LegalHold: true}); !strings.Contains(got, "legal hold") {
		t.Errorf("a legal hold's rule: %s", got)
	}
}
