package model

import (
	"testing"
	"time"
)

// TestPlanBackupEdges: full_every 0 never forces a full; an incremental is
// built on the newest backup that can be restored, not on a completed one
// whose base failed. (Found by the mutation run: docs/mutants.md.)
func TestPlanBackupEdges(t *testing.T) {
	f1 := backup(KindFull, name(0), StatusCreated, nil)
	i1 := backup(KindIncremental, name(time.Hour), StatusCreated, &f1)
	bad := backup(KindIncremental, name(2*time.Hour), StatusFailed, &i1)
	i2 := backup(KindIncremental, name(3*time.Hour), StatusCreated, &bad)
	cat := BuildCatalog("db", []Backup{f1, i1, bad, i2}, nil)
	if cat.Restorable(i2) {
		t.Fatal("the test needs a completed backup on a failed base")
	}
	year := 365 * 24 * time.Hour
	p, err := PlanBackup(cat, t0.Add(year), 0, "", TableSet{})
	if err != nil || p.Kind != KindIncremental || p.Base.Name != i1.Name || p.Chain != f1.Name {
		t.Fatalf("full_every off, a year on: %s on %q of %q (%v); want an incremental on %s", p.Kind, p.Base.Name, p.Chain, err, i1.Name)
	}
	// At exactly full_every a full is due; a moment before, it is not.
	if p, _ := PlanBackup(cat, t0.Add(24*time.Hour), 24*time.Hour, "", TableSet{}); p.Kind != KindFull {
		t.Errorf("at full_every: %s, want full", p.Kind)
	}
	if p, _ := PlanBackup(cat, t0.Add(24*time.Hour-time.Millisecond), 24*time.Hour, "", TableSet{}); p.Kind != KindIncremental {
		t.Errorf("before full_every: %s, want incremental", p.Kind)
	}
}
