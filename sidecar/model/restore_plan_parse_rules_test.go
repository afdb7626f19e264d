package model

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The definition reader decides what the restore plan sees of a CREATE
// statement: a comment or a quote read wrongly hides a table read
// outside, or invents one. These tests pin each rule of the tokenizer and
// the header and query readers, at the edges too (a statement ending right
// after a -, a /, a quote or a keyword). Written for the mutation run
// (docs/mutants.md).

// tokens says tokenize's output as "kind:text@start-end", one per token.
func tokens(sql string) string {
	var out []string
	for _, t := range tokenize(sql) {
		out = append(out, fmt.Sprintf("%c:%s@%d-%d", "wisp"[t.kind], t.text, t.start, t.end))
	}
	return strings.Join(out, " ")
}

func TestTokenize(t *testing.T) {
	for _, c := range []struct{ sql, want string }{
		{"", ""},
		{"a b", "w:a@0-1 w:b@2-3"},
		{"a\t\n b", "w:a@0-1 w:b@4-5"},
		{"a -- FROM other.t\nb", "w:a@0-1 w:b@18-19"},
		{"a -- to the end", "w:a@0-1"},
		{"a - b", "w:a@0-1 p:-@2-3 w:b@4-5"},
		{"a-", "w:a@0-1 p:-@1-2"},
		{"-", "p:-@0-1"},
		{"-b", "p:-@0-1 w:b@1-2"},
		{"a /* FROM other.t */ b", "w:a@0-1 w:b@21-22"},
		{"a /* x * y / z */b", "w:a@0-1 w:b@17-18"},
		{"/**/b", "w:b@4-5"},
		{"/* a */ x /* b */ y", "w:x@8-9 w:y@18-19"},
		{"a /* never closed FROM other.t", "w:a@0-1"},
		{"a /* ends in a star *", "w:a@0-1"},
		{"a / b", "w:a@0-1 p:/@2-3 w:b@4-5"},
		{"a/", "w:a@0-1 p:/@1-2"},
		{"/b", "p:/@0-1 w:b@1-2"},
		{"'it''s' x", "s:it's@0-7 w:x@8-9"},
		{`'a\'b' x`, "s:a'b@0-6 w:x@7-8"},
		{`'a\\' x`, `s:a\@0-5 w:x@6-7`},
		{`'ends in \`, `s:ends in \@0-10`},
		{`'never closed`, "s:never closed@0-13"},
		{`'x'`, "s:x@0-3"},
		{`''`, "s:@0-2"},
		{"`db`.`t`", "i:db@0-4 p:.@4-5 i:t@5-8"},
		{`"a""b" c`, `i:a"b@0-6 w:c@7-8`},
		{"a$b_1 _x 1st таблица", "w:a$b_1@0-5 w:_x@6-8 w:1st@9-12 w:таблица@13-20"},
		{"f(a,b);", "w:f@0-1 p:(@1-2 w:a@2-3 p:,@3-4 w:b@4-5 p:)@5-6 p:;@6-7"},
	} {
		if got := tokens(c.sql); got != c.want {
			t.Errorf("tokenize(%q):\n got %s\nwant %s", c.sql, got, c.want)
		}
	}
}

// Def says the parts of a definition the plan reads, compactly.
func def(d Definition) string {
	var reads []string
	for _, r := range d.Reads {
		reads = append(reads, r.Database+"|"+r.Name)
	}
	return fmt.Sprintf("%s engine=%s%q refresh=%v append=%v to=%s|%s reads=%v remote=%v definer=%s security=%s",
		d.Object, d.Engine, d.EngineArgs, d.Refreshable, d.Append, d.To.Database, d.To.Name, reads, d.ReadsRemote, d.Definer, d.SQLSecurity)
}

func TestParseDefinitionKinds(t *testing.T) {
	for sql, want := range map[string]string{
		"":       "table",
		"CREATE": "table",
		"CREATE TABLE db.t (x UInt8) ENGINE = Log": "table",
		"ATTACH TABLE t":                               "table",
		"CREATE OR REPLACE VIEW v AS SELECT 1":         "view",
		"CREATE TEMPORARY TABLE t":                     "table",
		"create materialized view mv TO t AS SELECT 1": "materialized view",
		"CREATE MATERIALIZED":                          "table",
		"CREATE MATERIALIZED TABLE":                    "table",
		"CREATE LIVE VIEW lv AS SELECT 1":              "live view",
		"CREATE WINDOW VIEW wv AS SELECT 1":            "window view",
		"CREATE LIVE":                                  "table",
		"CREATE LIVE TABLE":                            "table",
		"CREATE DICTIONARY d (k UInt64) PRIMARY KEY k": "dictionary",
		"CREATE VIEW":                                  "view",
	} {
		if got := ParseDefinition(sql).Object; got != want {
			t.Errorf("%q: object %q, want %q", sql, got, want)
		}
	}
}

func TestParseDefinitionHeader(t *testing.T) {
	for _, c := range []struct{ sql, want string }{
		{"CREATE TABLE t (x UInt8) ENGINE = Kafka('broker:9092', 'topic', f(1, 2))",
			`table engine=Kafka["broker:9092" "topic" "f(1,2)"] refresh=false append=false to=| reads=[] remote=[] definer= security=`},
		{"CREATE TABLE t ENGINE = Memory", `table engine=Memory[] refresh=false append=false to=| reads=[] remote=[] definer= security=`},
		{"CREATE TABLE t ENGINE = Buffer(db, dst, 1", `table engine=Buffer["db" "dst"] refresh=false append=false to=| reads=[] remote=[] definer= security=`},
		{"CREATE TABLE t ENGINE =", `table engine=[] refresh=false append=false to=| reads=[] remote=[] definer= security=`},
		{"CREATE TABLE t ENGINE", `table engine=[] refresh=false append=false to=| reads=[] remote=[] definer= security=`},
		{"CREATE TABLE t ENGINE = 'Log'", `table engine=[] refresh=false append=false to=| reads=[] remote=[] definer= security=`},
		{"CREATE TABLE t (e String DEFAULT 'x', ENGINE = Log) ENGINE = MergeTree ORDER BY e",
			`table engine=MergeTree[] refresh=false append=false to=| reads=[] remote=[] definer= security=`},
		{"CREATE TABLE t ENGINE = MergeTree ORDER BY x TTL d TO DISK 'cold'",
			`table engine=MergeTree[] refresh=false append=false to=| reads=[] remote=[] definer= security=`},
		{"CREATE MATERIALIZED VIEW mv REFRESH EVERY 1 HOUR APPEND TO other.sink (x UInt8) DEFINER = bob SQL SECURITY definer AS SELECT 1",
			`materialized view engine=[] refresh=true append=true to=other|sink reads=[] remote=[] definer=bob security=DEFINER`},
		{"CREATE MATERIALIZED VIEW mv REFRESH AFTER 1 SECOND TO INNER UUID 'abc' TO sink AS SELECT 1",
			`materialized view engine=[] refresh=true append=false to=|sink reads=[] remote=[] definer= security=`},
		{"CREATE MATERIALIZED VIEW mv APPEND REFRESH", `materialized view engine=[] refresh=false append=false to=| reads=[] remote=[] definer= security=`},
		{"CREATE MATERIALIZED VIEW mv REFRESH NEVER TO DISK AS SELECT 1",
			`materialized view engine=[] refresh=false append=false to=| reads=[] remote=[] definer= security=`},
		{"CREATE MATERIALIZED VIEW mv TO `db`.`t` (`TO` String, x UInt8 DEFAULT (TO)) AS SELECT 1",
			`materialized view engine=[] refresh=false append=false to=db|t reads=[] remote=[] definer= security=`},
		{"CREATE MATERIALIZED VIEW mv TO", `materialized view engine=[] refresh=false append=false to=| reads=[] remote=[] definer= security=`},
		{"CREATE MATERIALIZED VIEW mv TO INNER", `materialized view engine=[] refresh=false append=false to=|INNER reads=[] remote=[] definer= security=`},
		{"CREATE MATERIALIZED VIEW mv TO db.", `materialized view engine=[] refresh=false append=false to=|db reads=[] remote=[] definer= security=`},
		{"CREATE MATERIALIZED VIEW mv TO db.'x' AS SELECT 1", `materialized view engine=[] refresh=false append=false to=|db reads=[] remote=[] definer= security=`},
		{"CREATE MATERIALIZED VIEW mv ENGINE = Log TO t AS SELECT 1", `materialized view engine=Log[] refresh=false append=false to=| reads=[] remote=[] definer= security=`},
		{"CREATE MATERIALIZED VIEW mv TO a TO b AS SELECT 1", `materialized view engine=[] refresh=false append=false to=|a reads=[] remote=[] definer= security=`},
		{"CREATE VIEW v DEFINER = `a b` SQL SECURITY invoker AS SELECT 1",
			`view engine=[] refresh=false append=false to=| reads=[] remote=[] definer=a b security=INVOKER`},
		{"CREATE VIEW v DEFINER =", `view engine=[] refresh=false append=false to=| reads=[] remote=[] definer= security=`},
		{"CREATE VIEW v DEFINER bob", `view engine=[] refresh=false append=false to=| reads=[] remote=[] definer= security=`},
		{"CREATE VIEW v SQL SECURITY", `view engine=[] refresh=false append=false to=| reads=[] remote=[] definer= security=`},
		{"CREATE VIEW v SQL x NONE", `view engine=[] refresh=false append=false to=| reads=[] remote=[] definer= security=`},
		{"CREATE VIEW v (x UInt8 DEFAULT (REFRESH EVERY)) AS SELECT 1", `view engine=[] refresh=false append=false to=| reads=[] remote=[] definer= security=`},
		{"CREATE VIEW v REFRESH", `view engine=[] refresh=false append=false to=| reads=[] remote=[] definer= security=`},
		{"CREATE TABLE t ENGINE = Log ENGINE = Kafka", `table engine=Log[] refresh=false append=false to=| reads=[] remote=[] definer= security=`},
	} {
		if got := def(ParseDefinition(c.sql)); got != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.sql, got, c.want)
		}
	}
}

func TestParseDefinitionQuery(t *testing.T) {
	for _, c := range []struct{ sql, reads, remote string }{
		{"CREATE VIEW v AS SELECT * FROM a JOIN db.b USING (x) LEFT JOIN `c` ON 1", "|a db|b |c", ""},
		{"CREATE VIEW v AS WITH x AS (SELECT 1) SELECT * FROM other.t", "other|t", ""},
		{"CREATE VIEW v AS (SELECT * FROM t)", "|t", ""},
		{"CREATE VIEW v AS", "", ""},
		{"VIEW v AS SELECT * FROM other.t", "other|t", ""},
		{"TABLE t ENGINE = Log", "", ""},
		{"CREATE TABLE t ENGINE = Log AS * FROM other.x", "", ""},
		{"CREATE TABLE t ENGINE = Log AS `(` FROM other.x", "", ""},
		{"CREATE VIEW v AS t", "", ""},
		{"CREATE TABLE t2 AS other.t ENGINE = Log", "", ""},
		{"CREATE TABLE t (x UInt8 DEFAULT (SELECT 1 FROM other.q)) ENGINE = Log", "", ""},
		{"CREATE TABLE t ENGINE = Log AS SELECT * FROM other.t", "other|t", ""},
		{"CREATE VIEW v AS SELECT * FROM remote('h', db, t) JOIN s3('u') ON 1 JOIN numbers(10) ON 1 JOIN cluster", "|cluster", "remote s3"},
		{"CREATE VIEW v AS SELECT * FROM (SELECT * FROM inner_t) JOIN x.y", "|inner_t x|y", ""},
		{"CREATE VIEW v AS SELECT * FROM", "", ""},
		{"CREATE VIEW v AS SELECT * FROM db.", "|db", ""},
		{"CREATE VIEW v AS SELECT * FROM 'str'", "", ""},
		{"CREATE VIEW v AS SELECT * FROM t(", "", ""},
		{"CREATE VIEW v AS SELECT * FROM URL (", "", "url"},
		{"CREATE VIEW v AS SELECT * FROM a.b.c", "a|b", ""},
		{"CREATE VIEW v AS SELECT * FROM a . `b`", "a|b", ""},
		{"CREATE VIEW v AS SELECT * FROM a.(b)", "|a", ""},
	} {
		d := ParseDefinition(c.sql)
		var reads []string
		for _, r := range d.Reads {
			reads = append(reads, r.Database+"|"+r.Name)
		}
		if got := strings.Join(reads, " "); got != c.reads {
			t.Errorf("%q: reads %q, want %q", c.sql, got, c.reads)
		}
		if got := strings.Join(d.ReadsRemote, " "); got != c.remote {
			t.Errorf("%q: remote %q, want %q", c.sql, got, c.remote)
		}
	}
}

func TestQualifiedNameString(t *testing.T) {
	if got := (QualifiedName{Name: "t"}).String(); got != "t" {
		t.Errorf("unqualified: %q", got)
	}
	if got := (QualifiedName{Database: "db", Name: "t"}).String(); got != "db.t" {
		t.Errorf("qualified: %q", got)
	}
	for sql, want := range map[string]int{"db.t x": 3, "t x": 1, "db.'s'": 1} {
		if _, next := qualified(tokenize(sql), 0); next != want {
			t.Errorf("qualified(%q) ends at %d, want %d", sql, next, want)
		}
	}
	if !slices.Equal(args(tokenize("(a, (b, c), 'd')"), 0), []string{"a", "(b,c)", "d"}) {
		t.Errorf("args: %q", args(tokenize("(a, (b, c), 'd')"), 0))
	}
}
