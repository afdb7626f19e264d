package nativeserver

import "testing"

func TestParseInsert(t *testing.T) {
	cases := []struct {
		body, statement, table, columns string
		awaits                          bool
	}{
		{`INSERT INTO "typed" ("n","s") VALUES`, `INSERT INTO "typed" ("n","s")`, `"typed"`, `"n","s"`, true},
		{"insert into db.t values", "insert into db.t", "db.t", "*", true},
		{"INSERT INTO TABLE db.t (a) FORMAT Native", "INSERT INTO TABLE db.t (a)", "db.t", "a", true},
		{"INSERT INTO t (`a(b`, c) VALUES ;", "INSERT INTO t (`a(b`, c)", "t", "`a(b`, c", true},
		{"INSERT INTO t VALUES (1, 'x')", "", "", "", false},
		{"INSERT INTO t SELECT * FROM s", "", "", "", false},
		{"SELECT 'INSERT INTO t VALUES'", "", "", "", false},
	}
	for _, c := range cases {
		got, ok := parseInsert(c.body)
		if ok != c.awaits {
			t.Errorf("%q: awaits data = %v, want %v", c.body, ok, c.awaits)
			continue
		}
		if ok && (got.statement != c.statement || got.table != c.table || got.columns != c.columns) {
			t.Errorf("%q: got %+v", c.body, got)
		}
	}
}

func TestUnquoteLiteral(t *testing.T) {
	cases := map[string]string{
		`'plain'`:     "plain",
		`'it\'s'`:     "it's",
		`'it''s'`:     "it's",
		`'a\\b'`:      `a\b`,
		`'tab\there'`: "tab\there",
		`'\x41'`:      "A",
		`42`:          "42",
		`''`:          "",
	}
	for in, want := range cases {
		got, err := unquoteLiteral(in)
		if err != nil || got != want {
			t.Errorf("unquote %s = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := unquoteLiteral(`'\xZZ'`); err == nil {
		t.Error("a bad \\x escape was accepted")
	}
}
