package model

import (
	"strings"
	"unicode"
)

// Definition is what the restore plan reads of one CREATE statement, as
// ClickHouse keeps it in a backup (metadata/<db>/<table>.sql) or shows it
// (SHOW CREATE TABLE). It is read with a small tokenizer, not a full SQL
// parser: the plan only needs the object's kind, its engine and engine
// arguments, a refresh clause, a materialized view's TO table and the
// tables a query reads.
type Definition struct {
	Object      string   // "table", "view", "materialized view", "dictionary", "live view", "window view"
	Engine      string   // ENGINE = Name, "" when none
	EngineArgs  []string // the engine's arguments: names and string literals unquoted, anything else as written
	Refreshable bool     // REFRESH EVERY | AFTER
	Append      bool     // REFRESH … APPEND: each refresh adds rows rather than replacing them
	To          QualifiedName
	Reads       []QualifiedName // FROM / JOIN tables of the query; Database "" when unqualified
	ReadsRemote []string        // table functions reading elsewhere (remote, cluster, s3, url, …)
	Definer     string          // DEFINER = name, "" when none
	SQLSecurity string          // SQL SECURITY DEFINER | INVOKER | NONE, upper case; "" when none
}

// QualifiedName is [database.]name; Database is "" when unqualified.
type QualifiedName struct {
	Database string `json:"database,omitempty"`
	Name     string `json:"name"`
}

func (q QualifiedName) String() string {
	if q.Database == "" {
		return q.Name
	}
	return q.Database + "." + q.Name
}

type tokKind int

const (
	tokWord   tokKind = iota // bare word or number
	tokIdent                 // `quoted` or "quoted" identifier
	tokString                // 'literal'
	tokPunct
)

type token struct {
	kind       tokKind
	text       string // unquoted for identifiers and strings
	start, end int    // where it is in the statement's runes (a rewrite splices there)
}

func (t token) is(words ...string) bool {
	if t.kind != tokWord {
		return false
	}
	for _, w := range words {
		if strings.EqualFold(t.text, w) {
			return true
		}
	}
	return false
}

// name reports whether t can be a table or database name.
func (t token) name() bool { return t.kind == tokIdent || t.kind == tokWord }

// tokenize splits SQL into words, quoted identifiers, string literals and
// punctuation, dropping comments and white space.
func tokenize(sql string) []token {
	var out []token
	r := []rune(sql)
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '-' && i+1 < len(r) && r[i+1] == '-':
			for i < len(r) && r[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(r) && r[i+1] == '*':
			i += 2
			for i < len(r) && (r[i] != '*' || i+1 >= len(r) || r[i+1] != '/') {
				i++
			}
			i += 2
		case c == '`' || c == '"' || c == '\'':
			text, next := quoted(r, i)
			kind := tokIdent
			if c == '\'' {
				kind = tokString
			}
			out = append(out, token{kind, text, i, next})
			i = next
		case c == '_' || unicode.IsLetter(c) || unicode.IsDigit(c):
			j := i
			for j < len(r) && (r[j] == '_' || r[j] == '$' || unicode.IsLetter(r[j]) || unicode.IsDigit(r[j])) {
				j++
			}
			out = append(out, token{tokWord, string(r[i:j]), i, j})
			i = j
		default:
			out = append(out, token{tokPunct, string(c), i, i + 1})
			i++
		}
	}
	return out
}

// quoted reads a quoted text starting at r[i], with backslash escapes and
// doubled quotes, and returns it unquoted and the index after it.
func quoted(r []rune, i int) (string, int) {
	q := r[i]
	var b strings.Builder
	for j := i + 1; j < len(r); j++ {
		switch {
		case r[j] == '\\' && j+1 < len(r):
			j++
			b.WriteRune(r[j])
		case r[j] == q && j+1 < len(r) && r[j+1] == q:
			j++
			b.WriteRune(q)
		case r[j] == q:
			return b.String(), j + 1
		default:
			b.WriteRune(r[j])
		}
	}
	return b.String(), len(r)
}

// ParseDefinition reads a CREATE (or ATTACH) statement.
func ParseDefinition(sql string) Definition {
	toks := tokenize(sql)
	var d Definition
	i := objectKind(toks, &d)
	header, query := splitQuery(toks, i)
	parseHeader(header, &d)
	if query != nil {
		d.Reads, d.ReadsRemote = queryReads(query)
	}
	return d
}

// objectKind reads CREATE [OR REPLACE] [TEMPORARY] <kind> and returns the
// index after it.
func objectKind(toks []token, d *Definition) int {
	i := 0
	for i < len(toks) && toks[i].is("CREATE", "ATTACH", "OR", "REPLACE", "TEMPORARY") {
		i++
	}
	d.Object = "table"
	switch {
	case i+1 < len(toks) && toks[i].is("MATERIALIZED") && toks[i+1].is("VIEW"):
		d.Object, i = "materialized view", i+2
	case i+1 < len(toks) && toks[i].is("LIVE", "WINDOW") && toks[i+1].is("VIEW"):
		d.Object, i = strings.ToLower(toks[i].text)+" view", i+2
	case i < len(toks) && toks[i].is("VIEW", "DICTIONARY", "TABLE"):
		d.Object, i = strings.ToLower(toks[i].text), i+1
	}
	return i
}

// splitQuery cuts a view's statement at its top-level AS SELECT | WITH | (:
// the header before, the query after (nil for a table without one).
func splitQuery(toks []token, from int) ([]token, []token) {
	depth := 0
	for i := from; i < len(toks); i++ {
		switch t := toks[i]; {
		case t.kind == tokPunct && t.text == "(":
			depth++
		case t.kind == tokPunct && t.text == ")":
			depth--
		case depth == 0 && t.is("AS") && i+1 < len(toks) &&
			(toks[i+1].is("SELECT", "WITH") || toks[i+1].kind == tokPunct && toks[i+1].text == "("):
			return toks[from:i], toks[i+1:]
		}
	}
	return toks[from:], nil
}

// parseHeader finds, at the top level of the header, REFRESH (and APPEND),
// TO (not TO INNER UUID, an inner table's id), ENGINE, DEFINER and SQL
// SECURITY.
func parseHeader(h []token, d *Definition) {
	depth := 0
	for i := 0; i < len(h); i++ {
		t := h[i]
		switch {
		case t.kind == tokPunct && t.text == "(":
			depth++
		case t.kind == tokPunct && t.text == ")":
			depth--
		case depth != 0:
		case t.is("REFRESH") && i+1 < len(h) && h[i+1].is("EVERY", "AFTER"):
			d.Refreshable = true
		case t.is("APPEND") && d.Refreshable:
			d.Append = true
		case t.is("TO") && i+2 < len(h) && h[i+1].is("INNER") && h[i+2].is("UUID"):
			i += 2
		case t.is("TO") && d.Engine == "" && d.To.Name == "" && i+1 < len(h) && h[i+1].name() && !h[i+1].is("DISK", "VOLUME"):
			d.To, i = qualified(h, i+1)
			i--
		case t.is("DEFINER") && i+2 < len(h) && h[i+1].text == "=" && h[i+2].name():
			d.Definer, i = h[i+2].text, i+2
		case t.is("SQL") && i+2 < len(h) && h[i+1].is("SECURITY"):
			d.SQLSecurity, i = strings.ToUpper(h[i+2].text), i+2
		case t.is("ENGINE") && d.Engine == "" && i+2 < len(h) && h[i+1].text == "=" && h[i+2].name():
			d.Engine = h[i+2].text
			if i+3 < len(h) && h[i+3].text == "(" {
				d.EngineArgs = args(h, i+3)
			}
		}
	}
}

// qualified reads [db.]name at toks[i] and returns it and the index after.
func qualified(toks []token, i int) (QualifiedName, int) {
	if i+2 < len(toks) && toks[i+1].text == "." && toks[i+1].kind == tokPunct && toks[i+2].name() {
		return QualifiedName{Database: toks[i].text, Name: toks[i+2].text}, i + 3
	}
	return QualifiedName{Name: toks[i].text}, i + 1
}

// args reads the comma-separated arguments of the list opening at toks[open].
func args(toks []token, open int) []string {
	var out []string
	var cur strings.Builder
	depth := 0
	for _, t := range toks[open:] {
		switch {
		case t.kind == tokPunct && t.text == "(":
			depth++
			if depth == 1 {
				continue
			}
		case t.kind == tokPunct && t.text == ")":
			depth--
			if depth == 0 {
				return append(out, cur.String())
			}
		case t.kind == tokPunct && t.text == "," && depth == 1:
			out, cur = append(out, cur.String()), strings.Builder{}
			continue
		}
		cur.WriteString(t.text)
	}
	return out
}

// remoteFunctions are table functions that read another server or a store
// outside ClickHouse.
var remoteFunctions = map[string]bool{"remote": true, "remotesecure": true, "cluster": true, "clusterallreplicas": true,
	"s3": true, "s3cluster": true, "url": true, "urlcluster": true, "azureblobstorage": true, "hdfs": true, "gcs": true,
	"mysql": true, "postgresql": true, "mongodb": true, "odbc": true, "jdbc": true, "redis": true, "sqlite": true,
	"iceberg": true, "deltalake": true, "hudi": true, "file": true}

// queryReads lists the tables after FROM and JOIN, and the remote table
// functions, anywhere in the query (subqueries included).
func queryReads(q []token) ([]QualifiedName, []string) {
	var tables []QualifiedName
	var remote []string
	for i := 0; i+1 < len(q); i++ {
		if !q[i].is("FROM", "JOIN") || !q[i+1].name() {
			continue
		}
		if i+2 < len(q) && q[i+2].text == "(" && q[i+2].kind == tokPunct {
			if fn := strings.ToLower(q[i+1].text); remoteFunctions[fn] {
				remote = append(remote, fn)
			}
			continue
		}
		name, _ := qualified(q, i+1)
		tables = append(tables, name)
	}
	return tables, remote
}
