package model

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The plan judges each reference by what it points at once ClickHouse has
// restored the definition (restore_plan_rename.go). Texts in the form
// ClickHouse 26.7 keeps them in a backup (metadata/shop/<table>.sql) and
// SHOW CREATE TABLE prints them; the attack tests of issue 22
// (attack22_plan_integration_test.go) create the same objects on the
// test bed.
var renameTexts = map[string]string{
	"src":    "CREATE TABLE shop.src (`id` UInt64) ENGINE = MergeTree ORDER BY id SETTINGS index_granularity = 8192",
	"events": "CREATE TABLE shop.events (`id` UInt64) ENGINE = MergeTree ORDER BY id SETTINGS index_granularity = 8192",
	"feed":   "CREATE MATERIALIZED VIEW shop.feed TO shop.events\n(\n    `id` UInt64\n)\nAS SELECT id\nFROM shop.src",
	"al":     "CREATE TABLE shop.al\n(\n    `id` UInt64\n)\nENGINE = Alias('shop', 'src')",
	"buf":    "CREATE TABLE shop.buf\n(\n    `id` UInt64\n)\nENGINE = Buffer('shop', 'src', 1, 1, 2, 1, 1000, 1, 1000000)",
	"export": "CREATE MATERIALIZED VIEW shop.export\n(\n    `id` UInt64\n)\nENGINE = URL('http://127.0.0.1:8123/ingest', 'JSONEachRow')\n" +
		"AS SELECT id\nFROM shop.src",
	"dist_in": "CREATE TABLE shop.dist_in (`id` UInt64) ENGINE = Distributed('c', 'shop', 'src')",
}

func classifyRenamedList(r Renaming, names ...string) []Classified {
	var defs []TableDefinition
	for _, n := range names {
		defs = append(defs, TableDefinition{Table: n, Create: renameTexts[n]})
	}
	return ClassifyRestore(r, defs, nil)
}

func classifyRenamed(r Renaming, names ...string) map[string]Classified {
	out := map[string]Classified{}
	for _, c := range classifyRenamedList(r, names...) {
		out[c.Table] = c
	}
	return out
}

func TestRestorePlanRenamingAfter(t *testing.T) {
	whole := RenamingOf("shop", "shop_copy", nil)
	named := RenamingOf("shop", "shop_restored", []TableRestore{{Source: "feed", Target: "feed"}, {Source: "src", Target: "src_old"}})
	for _, c := range []struct {
		r    Renaming
		q    QualifiedName
		want string
	}{
		{whole, QualifiedName{"shop", "src"}, "shop_copy.src"},
		{whole, QualifiedName{"", "src"}, "shop_copy.src"},
		{whole, QualifiedName{"prod", "src"}, "prod.src"},
		{named, QualifiedName{"shop", "src"}, "shop_restored.src_old"},
		{named, QualifiedName{"shop", "events"}, "shop.events"},
		{inPlace("shop"), QualifiedName{"shop", "events"}, "shop.events"},
		{RenamingOf("shop", "shop", []TableRestore{{Source: "feed", Target: "feed"}}), QualifiedName{"shop", "events"}, "shop.events"},
	} {
		if got := c.r.after(c.q).String(); got != c.want {
			t.Errorf("%+v: %s points at %s, want %s", c.r, c.q, got, c.want)
		}
	}
}

// A view restored alone into another database keeps reading and writing
// the original's tables: only the tables named move.
func TestRestorePlanViewRestoredAlone(t *testing.T) {
	r := RenamingOf("shop", "shop_restored", []TableRestore{{Source: "feed", Target: "feed"}})
	feed := classifyRenamed(r, "feed")["feed"]
	if got := codes(feed); !slices.Equal(got, []string{HazardWritesOutside, HazardReadsOutside}) {
		t.Fatalf("feed restored alone: hazards %v (%s)", got, reasons(feed))
	}
	if w, rd := fmt.Sprint(feed.WritesOutside()), fmt.Sprint(feed.ReadsOutside()); w != "[shop.events]" || rd != "[shop.src]" {
		t.Errorf("writes %s, reads %s; want [shop.events], [shop.src]", w, rd)
	}
	if !strings.Contains(reasons(feed), "moves only those into shop_restored") {
		t.Errorf("the reason does not say why: %s", reasons(feed))
	}
	p := BuildPlan("shop", "shop_restored", []TableRestore{{Source: "feed", Target: "feed"}}, ConsumersRefuse, []Classified{feed})
	if err := p.Refusal(); err == nil || !strings.Contains(err.Error(), "feed (writes into shop.events") {
		t.Fatalf("refusal %v", err)
	}
	// With its tables it reads and writes the copy's; the whole database
	// moves all of them; in place nothing is outside.
	with := RenamingOf("shop", "shop_restored", []TableRestore{{Source: "feed"}, {Source: "src"}, {Source: "events"}})
	for _, r := range []Renaming{with, RenamingOf("shop", "shop_copy", nil), inPlace("shop"),
		RenamingOf("shop", "shop", []TableRestore{{Source: "feed", Target: "feed"}})} {
		if c := classifyRenamed(r, "feed")["feed"]; len(c.Hazards) != 0 {
			t.Errorf("%+v: %s", r, reasons(c))
		}
	}
}

// RESTORE does not rename an Alias's, a Buffer's or a Distributed's
// arguments (ClickHouse's DDLRenamingVisitor renames a Merge's and a
// Dictionary's alone; a Distributed's was seen unrenamed on 26.7): in a
// copy they act on the original's table.
func TestRestorePlanAliasAndBufferInACopy(t *testing.T) {
	got := classifyRenamed(RenamingOf("shop", "shop_copy", nil), "src", "al", "buf", "dist_in")
	if h := codes(got["al"]); !slices.Equal(h, []string{HazardWritesOutside}) || !strings.Contains(reasons(got["al"]), "an Alias of shop.src") {
		t.Errorf("al: %s", reasons(got["al"]))
	}
	if w, r := fmt.Sprint(got["al"].WritesOutside()), fmt.Sprint(got["al"].ReadsOutside()); w != "[shop.src]" || r != "[shop.src]" {
		t.Errorf("al writes %s, reads %s", w, r)
	}
	if h := codes(got["buf"]); !slices.Equal(h, []string{HazardWritesOutside}) || fmt.Sprint(got["buf"].WritesOutside()) != "[shop.src]" {
		t.Errorf("buf: %s", reasons(got["buf"]))
	}
	d := got["dist_in"]
	if h := codes(d); !slices.Equal(h, []string{HazardWritesOutside}) || !strings.Contains(reasons(d), "a Distributed table over shop.src") ||
		fmt.Sprint(d.WritesOutside()) != "[shop.src]" || fmt.Sprint(d.ReadsOutside()) != "[shop.src]" {
		t.Errorf("dist_in: %s; writes %v, reads %v", reasons(d), d.WritesOutside(), d.ReadsOutside())
	}
	if len(got["src"].Hazards) != 0 {
		t.Errorf("src: %s", reasons(got["src"]))
	}
	// Verify's scratch leaves them out.
	p := BuildPlan("shop", "clickvault_verify_x", nil, ConsumersSkip, classifyRenamedList(RenamingOf("shop", "clickvault_verify_x", nil), "src", "al", "buf", "dist_in"))
	if s := p.With(PlanSkip); !slices.Equal(s, []string{"al", "buf", "dist_in"}) {
		t.Errorf("verify leaves out %v", s)
	}
	// In place they point at the restored table.
	for name, c := range classifyRenamed(inPlace("shop"), "src", "al", "buf", "dist_in") {
		if len(c.Hazards) != 0 {
			t.Errorf("in place %s: %s", name, reasons(c))
		}
	}
	if refs := classifyRenamed(inPlace("shop"), "al")["al"].References("shop"); !slices.Equal(refs, []string{"src"}) {
		t.Errorf("al references %v", refs)
	}
}

func TestRestorePlanViewWithAnExternalEngine(t *testing.T) {
	c := classifyRenamed(RenamingOf("shop", "shop_copy", nil), "src", "export")["export"]
	if h := codes(c); !slices.Equal(h, []string{HazardExternalWriter}) {
		t.Fatalf("export: %v", h)
	}
	if c.operatorOnly() == "" {
		t.Error("a view posting to a URL may be included by a requester")
	}
}

// A replace stages a live copy beside the original: a materialized view
// (and anything flagged) is refused whatever consumers says, a table not.
func TestRestorePlanReplaceRefusesLiveStaging(t *testing.T) {
	restores := []TableRestore{{Source: "feed", Target: "feed"}, {Source: "src", Target: "src"}}
	for _, consumers := range []Consumers{ConsumersRefuse, ConsumersInclude} {
		p := BuildPlan("shop", "shop", restores, consumers, classifyRenamedList(RenamingOf("shop", "shop", restores), "feed", "src"))
		p.RefuseLiveStaging()
		err := p.Refusal()
		if err == nil || !strings.Contains(err.Error(), "feed (a replace would stage") || strings.Contains(err.Error(), "src (") ||
			!strings.Contains(err.Error(), "mode = 'replace' does not replace a materialized view") {
			t.Errorf("consumers %q: %v", consumers, err)
		}
	}
	p := BuildPlan("shop", "shop", restores[1:], ConsumersRefuse, classifyRenamedList(RenamingOf("shop", "shop", restores[1:]), "src"))
	p.RefuseLiveStaging()
	if err := p.Refusal(); err != nil {
		t.Errorf("a replace of a table alone: %v", err)
	}
}

// TestRenamingNamedSaysWhyOnlyForNamedTables: the note that only the named
// tables move is given for a reference into the backup's own database, in
// a restore of named tables into another database, and nowhere else.
func TestRenamingNamedSaysWhyOnlyForNamedTables(t *testing.T) {
	orders := QualifiedName{Database: "shop", Name: "orders"}
	for _, c := range []struct {
		name string
		r    Renaming
		q    QualifiedName
		want bool
	}{
		{"named tables into a copy", Renaming{Database: "shop", Target: "copy", Tables: map[string]string{"a": "a"}}, orders, true},
		{"the whole database", Renaming{Database: "shop", Target: "copy"}, orders, false},
		{"a reference to another database", Renaming{Database: "shop", Target: "copy", Tables: map[string]string{"a": "a"}},
			QualifiedName{Database: "prod", Name: "orders"}, false},
		{"named tables in place", Renaming{Database: "shop", Target: "shop", Tables: map[string]string{"a": "a"}}, orders, false},
	} {
		if got := c.r.named(c.q) != ""; got != c.want {
			t.Errorf("%s: note %v, want %v", c.name, got, c.want)
		}
	}
}
