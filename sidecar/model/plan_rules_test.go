package model

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
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
	p, err := PlanBackup(cat, t0.Add(year), PlanRules{}, "", TableSet{})
	if err != nil || p.Kind != KindIncremental || p.Base.Name != i1.Name || p.Chain != f1.Name {
		t.Fatalf("full_every off, a year on: %s on %q of %q (%v); want an incremental on %s", p.Kind, p.Base.Name, p.Chain, err, i1.Name)
	}
	// At exactly full_every a full is due; a moment before, it is not.
	if p, _ := PlanBackup(cat, t0.Add(24*time.Hour), PlanRules{FullEvery: 24 * time.Hour}, "", TableSet{}); p.Kind != KindFull {
		t.Errorf("at full_every: %s, want full", p.Kind)
	}
	if p, _ := PlanBackup(cat, t0.Add(24*time.Hour-time.Millisecond), PlanRules{FullEvery: 24 * time.Hour}, "", TableSet{}); p.Kind != KindIncremental {
		t.Errorf("before full_every: %s, want incremental", p.Kind)
	}
}

// TestPlanFullWhenIncrementalExceeds: with the rule at 0.5, an incremental
// that stored more than half of what its full stored makes the next backup
// a full that says why; exactly half, a big logical size (total_size counts
// the files taken from the base), an explicit incremental, the rule off, or
// a full whose stored size the metadata does not record do not.
func TestPlanFullWhenIncrementalExceeds(t *testing.T) {
	f1 := backup(KindFull, name(0), StatusCreated, nil)
	f1.UncompressedSize, f1.TotalSize = 1000, 1000
	small := backup(KindIncremental, name(time.Hour), StatusCreated, &f1)
	small.UncompressedSize, small.TotalSize = 500, 1500 // logically bigger than the full; stored exactly half
	big := backup(KindIncremental, name(2*time.Hour), StatusCreated, &small)
	big.UncompressedSize, big.TotalSize = 501, 2001
	rule := PlanRules{FullEvery: 7 * 24 * time.Hour, FullWhenIncrementalExceeds: 0.5}
	at := t0.Add(3 * time.Hour)

	p, err := PlanBackup(BuildCatalog("db", []Backup{f1, small}, nil), at, rule, "", TableSet{})
	if err != nil || p.Kind != KindIncremental || p.Forced {
		t.Fatalf("after an incremental that stored half: %s forced=%v (%v), want an incremental", p.Kind, p.Forced, err)
	}
	cat := BuildCatalog("db", []Backup{f1, small, big}, nil)
	p, err = PlanBackup(cat, at, rule, "", TableSet{})
	if err != nil || p.Kind != KindFull || !p.Forced {
		t.Fatalf("after an incremental that stored over half: %s forced=%v (%v), want a forced full", p.Kind, p.Forced, err)
	}
	for _, want := range []string{big.Name, "501 B", "0.5", "1000 B", f1.Name, "full_when_incremental_exceeds"} {
		if !strings.Contains(p.Reason, want) {
			t.Errorf("reason %q does not say %q", p.Reason, want)
		}
	}
	if p, _ := PlanBackup(cat, at, rule, KindIncremental, TableSet{}); p.Kind != KindIncremental || p.Base.Name != big.Name {
		t.Errorf("an explicit incremental: %s on %q, want an incremental on %s", p.Kind, p.Base.Name, big.Name)
	}
	if p, _ := PlanBackup(cat, at, PlanRules{FullEvery: rule.FullEvery}, "", TableSet{}); p.Kind != KindIncremental {
		t.Errorf("rule off: %s, want incremental", p.Kind)
	}
	seedFull := f1
	seedFull.UncompressedSize = 0
	if p, _ := PlanBackup(BuildCatalog("db", []Backup{seedFull, small, big}, nil), at, rule, "", TableSet{}); p.Kind != KindIncremental {
		t.Errorf("a full without a recorded stored size: %s, want incremental", p.Kind)
	}
	// A fresh full is never judged against itself.
	if p, _ := PlanBackup(BuildCatalog("db", []Backup{f1}, nil), at, PlanRules{FullWhenIncrementalExceeds: 0.01}, "", TableSet{}); p.Kind != KindIncremental {
		t.Errorf("on a lone full: %s, want incremental", p.Kind)
	}
}

// TestPlanOnBrokenChain: a broken chain turns an auto incremental into a
// forced full naming the chain and the problem; an explicit incremental is
// refused with ErrBrokenChain.
func TestPlanOnBrokenChain(t *testing.T) {
	f1 := backup(KindFull, name(0), StatusCreated, nil)
	p, err := PlanBackup(BuildCatalog("db", []Backup{f1}, nil), t0.Add(time.Hour), PlanRules{}, "", TableSet{})
	if err != nil || p.Kind != KindIncremental {
		t.Fatalf("plan: %s, %v", p.Kind, err)
	}
	full, err := p.OnBrokenChain("", "object x is missing")
	if err != nil || full.Kind != KindFull || !full.Forced || full.Base.Name != "" ||
		!strings.Contains(full.Reason, f1.Name) || !strings.Contains(full.Reason, "object x is missing") {
		t.Fatalf("auto on a broken chain: %+v, %v", full, err)
	}
	if _, err := p.OnBrokenChain(KindIncremental, "object x is missing"); !errors.Is(err, ErrBrokenChain) || !strings.Contains(err.Error(), "object x is missing") {
		t.Fatalf("an explicit incremental on a broken chain: %v", err)
	}
}

// TestObjectSummary: the summary of a manifest's objects equals that of a
// listing of the same objects in any order, and differs when one object is
// missing, short or added; files kept whole in the base have no object, and
// deduplicated files share one.
func TestObjectSummary(t *testing.T) {
	m := Manifest{Files: []ManifestFile{
		{Name: "a.bin", DataFile: "a.bin", Size: 10},
		{Name: "b.bin", DataFile: "a.bin", Size: 10},             // deduplicated onto a.bin
		{Name: "c.bin", DataFile: "c.bin", Size: 7, BaseSize: 7}, // whole in the base
		{Name: "d.bin", DataFile: "d.bin", Size: 9, BaseSize: 4}, // 5 bytes of its own
		{Name: "e.txt", DataFile: "e.txt", Size: 0},
	}}
	want := SummarizeObjects(m.Objects(100))
	if want.Count != 3 || want.Bytes != 115 {
		t.Fatalf("summary: %+v, want 3 objects of 115 bytes", want)
	}
	listed := []ObjectSize{{"d.bin", 5}, {coord.BackupFile, 100}, {"a.bin", 10}}
	if got := SummarizeObjects(listed); got != want {
		t.Fatalf("the listing sums up to %+v, the manifest to %+v", got, want)
	}
	for what, l := range map[string][]ObjectSize{
		"missing": {{"d.bin", 5}, {coord.BackupFile, 100}},
		"short":   {{"d.bin", 4}, {coord.BackupFile, 100}, {"a.bin", 10}},
		"renamed": {{"x.bin", 5}, {coord.BackupFile, 100}, {"a.bin", 10}},
		"added":   {{"d.bin", 5}, {coord.BackupFile, 100}, {"a.bin", 10}, {"z", 0}},
	} {
		if SummarizeObjects(l) == want {
			t.Errorf("an object %s: the summary still matches", what)
		}
	}
}
