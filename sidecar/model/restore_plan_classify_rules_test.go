package model

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The classification's edges: engine argument counts at their minimum,
// which reason a read outside gets, each list a plan is built from, and
// why only the operator may restore a table live. Written for the
// mutation run (docs/mutants.md).

// classifyOne classifies one definition of database shop, renamed.
func classifyOne(create string) Classified {
	return ClassifyTables("shop", []TableDefinition{{Table: "x", Create: create}}, func(string) bool { return true })[0]
}

func reasons(c Classified) string {
	var out []string
	for _, h := range c.Hazards {
		out = append(out, h.Code+": "+h.Reason)
	}
	return strings.Join(out, "; ")
}

func TestClassifyEngineArgumentsAtTheirMinimum(t *testing.T) {
	for _, c := range []struct {
		create, hazards, refs, writes string
	}{
		{"CREATE TABLE x ENGINE = Distributed(c, prod, t)", "writes_outside", "[]", "[prod.t]"},
		{"CREATE TABLE x ENGINE = Distributed(c, prod)", "", "[]", "[]"},
		{"CREATE TABLE x ENGINE = Distributed(c, shop, t)", "", "[t]", "[]"},
		{"CREATE TABLE x ENGINE = Distributed(c, currentdatabase(), t)", "", "[t]", "[]"},
		{"CREATE TABLE x ENGINE = Distributed(c, '', t)", "", "[t]", "[]"},
		{"CREATE TABLE x ENGINE = Distributed(c, shop)", "", "[]", "[]"},
		{"CREATE TABLE x ENGINE = Buffer(prod, t)", "writes_outside", "[]", "[prod.t]"},
		{"CREATE TABLE x ENGINE = Buffer(prod)", "", "[]", "[]"},
		{"CREATE TABLE x ENGINE = Buffer(shop, t)", "", "[t]", "[]"},
		{"CREATE TABLE x ENGINE = Buffer(shop)", "", "[]", "[]"},
		{"CREATE TABLE x ENGINE = ReplicatedMergeTree('/a/b')", "zookeeper_path", "[]", "[]"},
		{"CREATE TABLE x ENGINE = ReplicatedMergeTree", "", "[]", "[]"},
		{"CREATE TABLE x ENGINE = ReplicatedCollapsingMergeTree('/a/{database}/b', r)", "", "[]", "[]"},
		{"CREATE TABLE x ENGINE = ReplicatedLog('/a/b')", "", "[]", "[]"},
		{"CREATE TABLE x ENGINE = SharedMergeTree('/a/b')", "", "[]", "[]"},
		{"CREATE MATERIALIZED VIEW x TO prod.t AS SELECT 1", "writes_outside", "[]", "[prod.t]"},
		{"CREATE MATERIALIZED VIEW x TO shop.t AS SELECT 1", "", "[t]", "[]"},
		{"CREATE MATERIALIZED VIEW x TO t AS SELECT * FROM a JOIN shop.b ON 1 JOIN prod.c ON 1", "reads_outside", "[t a b]", "[]"},
	} {
		cl := classifyOne(c.create)
		var hs []string
		for _, h := range cl.Hazards {
			hs = append(hs, h.Code)
		}
		if got := strings.Join(hs, " "); got != c.hazards {
			t.Errorf("%s: hazards %q, want %q", c.create, got, c.hazards)
		}
		if got := fmt.Sprint(cl.References("shop")); got != c.refs {
			t.Errorf("%s: references %s, want %s", c.create, got, c.refs)
		}
		if got := fmt.Sprint(cl.WritesOutside()); got != c.writes {
			t.Errorf("%s: writes outside %s, want %s", c.create, got, c.writes)
		}
	}
}

func TestClassifyReadReasons(t *testing.T) {
	for create, want := range map[string]string{
		"CREATE MATERIALIZED VIEW x TO t AS SELECT * FROM prod.a JOIN prod.a ON 1": "reads_outside: is fed by every insert into prod.a, outside shop",
		"CREATE MATERIALIZED VIEW x REFRESH EVERY 1 HOUR TO t AS SELECT * FROM prod.a": "refreshable: a refreshable materialized view: it refreshes on its own schedule as soon as it exists; " +
			"reads_outside: reads prod.a, outside shop",
		"CREATE VIEW x AS SELECT * FROM prod.a JOIN remote('h', d, t) ON 1 JOIN remote('h', d, u) ON 1": "reads_outside: reads prod.a, outside shop; " +
			"reads_outside: reads through table function remote(), outside shop",
		"CREATE TABLE x ENGINE = Log AS SELECT * FROM prod.a": "",
		"CREATE TABLE x ENGINE = kafka":                       "consumer: a kafka table consumes from outside: a live copy would take messages or files from production's consumer",
	} {
		if got := reasons(classifyOne(create)); got != want {
			t.Errorf("%s:\n got %s\nwant %s", create, got, want)
		}
	}
}

func TestReadsOutside(t *testing.T) {
	v := classifyOne("CREATE VIEW x AS SELECT * FROM prod.a JOIN prod.a ON 1 JOIN b ON 1 JOIN shop.c ON 1 JOIN other.d ON 1")
	if got := fmt.Sprint(v.ReadsOutside()); got != "[prod.a other.d]" {
		t.Errorf("a view: %s, want [prod.a other.d]", got)
	}
	tbl := classifyOne("CREATE TABLE x ENGINE = Log AS SELECT * FROM prod.a")
	if got := tbl.ReadsOutside(); got != nil {
		t.Errorf("a table: %v, want none", got)
	}
}

func TestOperatorOnly(t *testing.T) {
	defs := []TableDefinition{
		{Table: "q", Create: "CREATE TABLE q ENGINE = S3Queue('u', 'CSV')"},
		{Table: "u", Create: "CREATE TABLE u ENGINE = URL('http://h/x', 'CSV')"},
		{Table: "w", Create: "CREATE MATERIALIZED VIEW w TO u AS SELECT 1"},
		{Table: "lone", Create: "CREATE TABLE lone ENGINE = URL('http://h/x', 'CSV')"},
		{Table: "r", Create: "CREATE VIEW r AS SELECT * FROM s3('u') JOIN url('v') ON 1"},
		{Table: "p", Create: "CREATE VIEW p AS SELECT * FROM prod.a"},
	}
	got := map[string]string{}
	for _, c := range ClassifyTables("shop", defs, nil) {
		got[c.Table] = c.operatorOnly()
	}
	want := map[string]string{
		"q": "a S3Queue table consumes from outside", "u": "a URL table is stored outside ClickHouse",
		"w": "", "lone": "", "r": "it reads through table function s3()", "p": "",
	}
	for table, w := range want {
		if got[table] != w {
			t.Errorf("%s: %q, want %q", table, got[table], w)
		}
	}
	if slices.ContainsFunc(ClassifyTables("shop", defs[3:4], nil)[0].Hazards, func(h Hazard) bool { return h.Code == HazardExternalWriter }) {
		t.Error("a URL table no view writes into is an external writer")
	}
}

// TestAliasAndBufferEdges: an Alias refers to its table only when it
// names one in the database; a Buffer sends rows, it reads none; the note
// that RESTORE leaves their arguments is given only when they name the
// backup's own database.
func TestAliasAndBufferEdges(t *testing.T) {
	copyOf := RenamingOf("shop", "shop_copy", nil)
	classify := func(r Renaming, create string) Classified {
		return ClassifyRestore(r, []TableDefinition{{Table: "x", Create: create}}, nil)[0]
	}
	for create, want := range map[string]string{
		"CREATE TABLE x ENGINE = Alias(shop, t)":   "[t]",
		"CREATE TABLE x ENGINE = Alias(t)":         "[t]",
		"CREATE TABLE x ENGINE = Alias(prod, t)":   "[]",
		"CREATE TABLE x ENGINE = Alias('prod.t')":  "[]",
		"CREATE TABLE x ENGINE = Alias":            "[]",
		"CREATE TABLE x ENGINE = Buffer(shop, t)":  "[t]",
		"CREATE TABLE x ENGINE = Buffer(other, t)": "[]",
	} {
		if got := fmt.Sprint(classify(inPlace("shop"), create).References("shop")); got != want {
			t.Errorf("%s: references %s, want %s", create, got, want)
		}
	}
	buf := classify(copyOf, "CREATE TABLE x ENGINE = Buffer(shop, t)")
	if got := buf.ReadsOutside(); got != nil {
		t.Errorf("a Buffer reads %v, want nothing", got)
	}
	const note = "RESTORE does not rename its arguments"
	if !strings.Contains(reasons(buf), note) {
		t.Errorf("a Buffer into the backup's database: %s, want the note", reasons(buf))
	}
	if r := reasons(classify(copyOf, "CREATE TABLE x ENGINE = Buffer(prod, t)")); r == "" || strings.Contains(r, note) {
		t.Errorf("a Buffer into prod: %s, want a hazard without the note", r)
	}
}
