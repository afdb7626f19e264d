package model

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func backup(kind Kind, name string, status Status, base *Backup) Backup {
	ts, _ := ParseName(name)
	layout := coord.Layout{Prefix: "p"}
	b := Backup{Folder: layout.Folder("db", string(kind), name), Meta: Meta{Kind: kind, Name: name, Timestamp: ts, Status: status, Database: "db"}}
	if base != nil {
		f := base.Folder
		b.BaseBackupPath, b.Base = &f, base.Name
	}
	return b
}

func name(d time.Duration) string { return NameAt(t0.Add(d)) }

func TestNames(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 123e6, time.UTC)
	if got := NameAt(at); got != "20261123T120000123Z" {
		t.Fatalf("NameAt = %s", got)
	}
	back, err := ParseName("20261123T120000123Z")
	if err != nil || !back.Equal(at) {
		t.Fatalf("ParseName = %v, %v", back, err)
	}
	if _, err := ParseName("20261123T120000Z"); err != nil {
		t.Fatalf("seed name without milliseconds: %v", err)
	}
	if _, err := ParseName("full"); err == nil {
		t.Fatal("a non-name parsed")
	}
}

func TestSeedMetadataIsRead(t *testing.T) {
	data, err := os.ReadFile("../../testdata/meta/seed-v1/incremental.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeMeta(data)
	if err != nil || m.Kind != KindIncremental || !m.Completed() || *m.BaseBackupPath != "clickhouse/full/20261120T030000123Z/" {
		t.Fatalf("seed metadata: %+v, %v", m, err)
	}
	full, _ := os.ReadFile("../../testdata/meta/seed-v1/full.json")
	fm, err := DecodeMeta(full)
	if err != nil || fm.BaseBackupPath != nil || fm.TotalSize != 123456 {
		t.Fatalf("seed full: %+v, %v", fm, err)
	}
	cat := BuildCatalog("analytics", []Backup{
		{Meta: fm, Folder: "clickhouse/full/20261120T030000123Z/", Legacy: true},
		{Meta: m, Folder: "clickhouse/incremental/20261120T070000456Z/", Legacy: true},
	}, nil)
	if len(cat.Chains) != 1 || cat.Chains[0].Depth() != 2 || len(cat.Orphans) != 0 {
		t.Fatalf("seed chain: %+v", cat)
	}
}

func TestCatalogChainsAndOrphans(t *testing.T) {
	f1 := backup(KindFull, name(0), StatusCreated, nil)
	i1 := backup(KindIncremental, name(time.Hour), StatusCreated, &f1)
	bad := backup(KindIncremental, name(2*time.Hour), StatusFailed, &i1)
	i2 := backup(KindIncremental, name(3*time.Hour), StatusCreated, &i1)
	gone := backup(KindFull, name(-time.Hour), StatusCreated, nil)
	orphan := backup(KindIncremental, name(4*time.Hour), StatusCreated, &gone)
	cat := BuildCatalog("db", []Backup{i2, bad, orphan, i1, f1}, []string{"p/db/full/X/"})
	if len(cat.Chains) != 1 || cat.Chains[0].Depth() != 3 || len(cat.Chains[0].Members) != 4 {
		t.Fatalf("chains: %+v", cat.Chains)
	}
	if len(cat.Orphans) != 2 {
		t.Fatalf("orphans: %+v", cat.Orphans)
	}
	if got, _ := cat.NewestCompleted(time.Time{}); got.Name != i2.Name {
		t.Fatalf("newest completed = %s", got.Name)
	}
	if got, _ := cat.NewestCompleted(t0.Add(150 * time.Minute)); got.Name != i1.Name {
		t.Fatalf("as of 2h30: %s, want %s", got.Name, i1.Name)
	}
	if _, ok := cat.NewestCompleted(t0.Add(-time.Minute)); ok {
		t.Fatal("found a backup before the first")
	}
}

// TestCatalogWith: a backup recorded in a catalog takes the place of its
// folder's entry (a running backup settled) or joins its chain, and the
// catalog keeps its orphans and scan time.
func TestCatalogWith(t *testing.T) {
	f1 := backup(KindFull, name(0), StatusCreated, nil)
	running := backup(KindIncremental, name(time.Hour), StatusCreating, &f1)
	gone := backup(KindFull, name(-time.Hour), StatusCreated, nil)
	orphan := backup(KindIncremental, name(4*time.Hour), StatusCreated, &gone)
	cat := BuildCatalog("db", []Backup{f1, running, orphan}, []string{"p/db/full/X/"})
	cat.Scanned = t0
	settled := running
	settled.Status = StatusCreated
	next := backup(KindIncremental, name(2*time.Hour), StatusCreated, &settled)
	got := cat.With(settled).With(next)
	all := got.All()
	if len(all) != 3 || all[0].Name != next.Name || all[1].Status != StatusCreated || all[2].Name != f1.Name {
		t.Fatalf("the catalog with %s settled and %s added: %+v", settled.Name, next.Name, all)
	}
	if len(got.Chains) != 1 || got.Chains[0].Depth() != 3 {
		t.Fatalf("chain: %+v", got.Chains)
	}
	if b, ok := got.Find(next.Name); !ok || b.Chain != f1.Name {
		t.Fatalf("find %s: %+v %v", next.Name, b, ok)
	}
	if len(got.Orphans) != 2 || !got.Scanned.Equal(t0) || got.Database != "db" {
		t.Fatalf("orphans %+v, scanned %v, database %q: want cat's", got.Orphans, got.Scanned, got.Database)
	}
	if len(cat.All()) != 2 || cat.All()[0].Status != StatusCreating {
		t.Fatalf("With changed the catalog it was called on: %+v", cat.All())
	}
}

func TestPlanBackup(t *testing.T) {
	week := 7 * 24 * time.Hour
	f1 := backup(KindFull, name(0), StatusCreated, nil)
	i1 := backup(KindIncremental, name(time.Hour), StatusCreated, &f1)
	failed := backup(KindIncremental, name(2*time.Hour), StatusFailed, &i1)
	running := backup(KindFull, name(3*time.Hour), StatusCreating, nil)
	cat := BuildCatalog("db", []Backup{f1, i1, failed, running}, nil)
	cases := []struct {
		name     string
		cat      Catalog
		now      time.Time
		want     Kind
		wantKind Kind
		wantBase string
	}{
		{"empty: full", Catalog{}, t0, "", KindFull, ""},
		{"forced full", cat, t0.Add(time.Hour), KindFull, KindFull, ""},
		{"incremental on the newest completed, not the failed", cat, t0.Add(4 * time.Hour), "", KindIncremental, i1.Name},
		{"full is a week old", cat, t0.Add(week), "", KindFull, ""},
		{"asked incremental past the interval", cat, t0.Add(week + time.Hour), KindIncremental, KindIncremental, i1.Name},
	}
	for _, c := range cases {
		p, err := PlanBackup(c.cat, c.now, PlanRules{FullEvery: week}, c.want, TableSet{})
		if err != nil || p.Kind != c.wantKind || p.Base.Name != c.wantBase {
			t.Errorf("%s: got %s on %q (%v), want %s on %q", c.name, p.Kind, p.Base.Name, err, c.wantKind, c.wantBase)
		}
	}
	if _, err := PlanBackup(Catalog{}, t0, PlanRules{FullEvery: week}, KindIncremental, TableSet{}); err == nil {
		t.Error("an incremental with no full was planned")
	}
	// A chain holds one table set: another set starts a new chain, and an
	// explicit incremental with another set is refused.
	noLogs, _ := NewTableSet(nil, []string{"logs"})
	if p, err := PlanBackup(cat, t0.Add(time.Hour), PlanRules{FullEvery: week}, "", noLogs); err != nil || p.Kind != KindFull || !strings.Contains(p.Reason, "table set changed") {
		t.Errorf("another table set: %s (%q), %v; want a new chain", p.Kind, p.Reason, err)
	}
	if _, err := PlanBackup(cat, t0.Add(time.Hour), PlanRules{FullEvery: week}, KindIncremental, noLogs); !errors.Is(err, ErrTableSetChanged) {
		t.Errorf("an incremental with another table set: %v", err)
	}
}

func TestTableSets(t *testing.T) {
	if _, err := NewTableSet([]string{"a"}, []string{"b"}); err == nil {
		t.Error("include and exclude together were accepted")
	}
	if _, err := NewTableSet([]string{"a; DROP"}, nil); err == nil {
		t.Error("a bad table name was accepted")
	}
	only, _ := NewTableSet([]string{"b", "a", "a"}, nil)
	if only.String() != "only a, b" || !only.Holds("a") || only.Holds("c") {
		t.Errorf("include set: %s", only)
	}
	but, _ := NewTableSet(nil, []string{"logs"})
	if got := but.Filter(map[string]uint64{"logs": 1, "orders": 2}); len(got) != 1 || got["orders"] != 2 {
		t.Errorf("filter: %v", got)
	}
	if all, _ := NewTableSet(nil, nil); !all.All() || all.String() != "all tables" || !all.Equal(TableSet{}) {
		t.Errorf("empty set: %+v", all)
	}
}

func TestParseRestoreParts(t *testing.T) {
	for in, want := range map[string]TableRestore{"orders": {"orders", "orders"}, "orders AS old": {"orders", "old"},
		" orders as  old ": {"orders", "old"}} {
		if got, err := ParseTableRestore(in); err != nil || got != want {
			t.Errorf("ParseTableRestore(%q) = %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "a AS", "a TO b", "a AS b; DROP", "a b c d"} {
		if _, err := ParseTableRestore(bad); err == nil {
			t.Errorf("ParseTableRestore(%q) accepted", bad)
		}
	}
	for _, m := range []string{"", "data", "schema", "replace"} {
		if _, err := ParseRestoreMode(m); err != nil {
			t.Errorf("mode %q: %v", m, err)
		}
	}
	if _, err := ParseRestoreMode("overwrite"); err == nil {
		t.Error("mode overwrite accepted")
	}
	if err := ValidatePartitions([]string{"202401", "a b", "2024-01-01"}); err != nil {
		t.Error(err)
	}
	for _, bad := range [][]string{{""}, {"a\x00"}, {strings.Repeat("p", 300)}} {
		if err := ValidatePartitions(bad); err == nil {
			t.Errorf("partitions %q accepted", bad)
		}
	}
}

func TestPlanCleanup(t *testing.T) {
	var all []Backup
	chain := func(start time.Duration, n int) []Backup {
		f := backup(KindFull, name(start), StatusCreated, nil)
		out := []Backup{f}
		for i := 1; i < n; i++ {
			out = append(out, backup(KindIncremental, name(start+time.Duration(i)*time.Hour), StatusCreated, &out[i-1]))
		}
		return out
	}
	oldest, older, newest := chain(0, 3), chain(24*time.Hour, 2), chain(48*time.Hour, 2)
	failedInKept := backup(KindIncremental, name(52*time.Hour), StatusFailed, &newest[1])
	all = append(append(append(all, oldest...), older...), newest...)
	all = append(all, failedInKept)
	cat := BuildCatalog("db", all, []string{"p/db/full/junk/"})

	plan := PlanCleanup(cat, Retention{KeepFullBackups: 1}, t0.Add(60*time.Hour))
	var order []string
	for _, d := range plan.Delete {
		order = append(order, d.Backup.Name)
	}
	// Failed members of kept chains first; then the dropped chains, oldest
	// chain first so a cleanup that stops part-way removed the oldest data.
	want := []string{failedInKept.Name, oldest[2].Name, oldest[1].Name, oldest[0].Name, older[1].Name, older[0].Name}
	if len(order) != len(want) {
		t.Fatalf("delete order %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("delete order %v, want %v", order, want)
		}
	}
	if len(plan.Kept) != 1 || plan.Kept[0] != newest[0].Name || len(plan.Orphans) != 1 {
		t.Fatalf("kept %v orphans %v", plan.Kept, plan.Orphans)
	}
	plan = PlanCleanup(cat, Retention{KeepFullBackups: 1, KeepFor: 40 * time.Hour}, t0.Add(60*time.Hour))
	if len(plan.Kept) != 2 {
		t.Fatalf("keep_days should keep the chain whose newest backup is younger: kept %v", plan.Kept)
	}
}

func TestForbiddenTarget(t *testing.T) {
	for name, want := range map[string]string{
		"system": "system database", "System": "system database", "information_schema": "system database",
		"INFORMATION_SCHEMA": "system database", "clickvault": "control database", "ClickVault": "control database",
		"clickvault_verify_ab12": "scratch database", "shop_restored": "", "systems": "",
	} {
		if got := ForbiddenTarget(name, "clickvault"); (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("forbiddenTarget(%q) = %q, want %q", name, got, want)
		}
	}
}
