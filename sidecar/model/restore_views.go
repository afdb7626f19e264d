package model

import (
	"fmt"
	"strings"
)

// StoppedCreate rewrites a refreshable view's CREATE from a backup of
// database source for a view name in target, as RESTORE would: the view's
// own name, and every name qualified with source (its query's tables, its
// TO table), move to target in a whole-database restore (renames empty); in
// a restore of named tables (renames: each by its new name) only those
// move, the others stay the original's, as the plan judged them; the UUIDs go (ClickHouse gives new ones: the original may still
// exist); EMPTY goes before AS, so that creating it runs no refresh.
func StoppedCreate(create, source, target, name string, renames map[string]string) (string, error) {
	toks := tokenize(create)
	var d Definition
	at := objectKind(toks, &d)
	header, query := splitQuery(toks, at)
	if d.Object != "materialized view" || query == nil || len(header) == 0 {
		return "", fmt.Errorf("its definition is not a materialized view with a query")
	}
	nameAt := 0
	if len(header) > 3 && header[0].is("IF") && header[1].is("NOT") && header[2].is("EXISTS") {
		nameAt = 3
	}
	_, after := qualified(header, nameAt)
	var out strings.Builder
	r := []rune(create)
	out.WriteString("CREATE MATERIALIZED VIEW " + quoteName(target) + "." + quoteName(name))
	pos := header[after-1].end
	after += at // an index of toks from here
	emit := func(upTo int, text string) {
		out.WriteString(string(r[pos:upTo]))
		out.WriteString(text)
	}
	for i := after; i < len(toks); i++ {
		t := toks[i]
		inHeader := t.start < query[0].start
		switch {
		case inHeader && t.is("TO") && i+3 < len(toks) && toks[i+1].is("INNER") && toks[i+2].is("UUID"):
			emit(t.start, "")
			pos, i = toks[i+3].end, i+3
		case inHeader && t.is("UUID") && i+1 < len(toks) && toks[i+1].kind == tokString:
			emit(t.start, "")
			pos, i = toks[i+1].end, i+1
		case inHeader && t.is("AS") && i+1 < len(toks) && toks[i+1].start == query[0].start:
			emit(t.start, "EMPTY ")
			pos = t.start
		case t.name() && t.text == source && i+2 < len(toks) && toks[i+1].text == "." && toks[i+1].kind == tokPunct &&
			toks[i+2].name() && (i == 0 || toks[i-1].text != "."):
			table := toks[i+2].text
			if renamed, ok := renames[table]; ok {
				table = renamed
			} else if len(renames) > 0 {
				i += 2 // not restored: it stays the original's, as RESTORE leaves it (Renaming)
				continue
			}
			emit(t.start, quoteName(target)+"."+quoteName(table))
			pos, i = toks[i+2].end, i+2
		}
	}
	out.WriteString(string(r[pos:]))
	return out.String(), nil
}

// quoteName back-quotes a name for ClickHouse, escaping what would end it.
func quoteName(s string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(s) + "`"
}
