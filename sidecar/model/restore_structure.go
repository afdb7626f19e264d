package model

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrStructureChanged refuses a partition replace of a table whose columns
// differ from the backup's.
var ErrStructureChanged = errors.New("the table's columns differ from the backup's")

// Column is one physical column: its name and type as ClickHouse writes it.
type Column struct {
	Name string
	Type string
}

// notPhysical are the column kinds that store nothing, which REPLACE
// PARTITION does not compare.
var notPhysical = []string{"ALIAS", "EPHEMERAL"}

// columnEnds are the words that end a column's type in its declaration.
var columnEnds = []string{"DEFAULT", "MATERIALIZED", "ALIAS", "EPHEMERAL", "CODEC", "COMMENT", "TTL", "STATISTICS",
	"SETTINGS", "PRIMARY", "NULL", "NOT"}

// BackupColumns reads the physical columns of a CREATE TABLE statement; ok
// is false when it declares none (CREATE TABLE … AS another).
func BackupColumns(create string) (cols []Column, ok bool) {
	toks := tokenize(create)
	open := slices.IndexFunc(toks, func(t token) bool { return t.kind == tokPunct && t.text == "(" || t.is("ENGINE", "AS") })
	if open < 0 || toks[open].kind != tokPunct {
		return nil, false
	}
	runes := []rune(create)
	for _, el := range columnElements(toks, open) {
		if !declaresColumn(el) {
			continue
		}
		end := len(el)
		depth := 0
		for i := 1; i < len(el); i++ {
			depth += parenStep(el[i])
			if depth == 0 && el[i].is(columnEnds...) {
				end = i
				break
			}
		}
		if end < len(el) && el[end].is(notPhysical...) {
			continue
		}
		if end > 1 {
			cols = append(cols, Column{Name: el[0].text, Type: string(runes[el[1].start:el[end-1].end])})
		}
	}
	return cols, true
}

// declaresColumn tells a column from an index, projection, constraint or
// primary key declared among them (a column may be named index too).
func declaresColumn(el []token) bool {
	if len(el) < 2 || !el[0].name() {
		return false
	}
	has := func(words ...string) bool {
		return slices.ContainsFunc(el, func(t token) bool { return t.is(words...) })
	}
	switch {
	case el[0].is("INDEX"):
		return !has("TYPE")
	case el[0].is("PROJECTION"):
		return len(el) < 3 || el[2].kind != tokPunct || el[2].text != "("
	case el[0].is("CONSTRAINT"):
		return !has("CHECK", "ASSUME")
	case el[0].is("PRIMARY"):
		return !el[1].is("KEY")
	}
	return true
}

// columnElements splits the list that opens at toks[open] at its top-level
// commas.
func columnElements(toks []token, open int) [][]token {
	var out [][]token
	var cur []token
	depth := 0
	for _, t := range toks[open+1:] {
		depth += parenStep(t)
		switch {
		case depth < 0:
			return append(out, cur)
		case depth == 0 && t.kind == tokPunct && t.text == ",":
			out, cur = append(out, cur), nil
		default:
			cur = append(cur, t)
		}
	}
	return append(out, cur)
}

func parenStep(t token) int {
	switch {
	case t.kind != tokPunct:
		return 0
	case t.text == "(":
		return 1
	case t.text == ")":
		return -1
	}
	return 0
}

// DiffColumns says, in words, how the live columns differ from the
// backup's; none when they are the same set (order does not matter to
// REPLACE PARTITION). Types are compared without white space.
func DiffColumns(live, backup []Column) []string {
	was := map[string]string{}
	for _, c := range backup {
		was[c.Name] = c.Type
	}
	var out []string
	for _, c := range live {
		t, ok := was[c.Name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("column %s %s was added since the backup", c.Name, c.Type))
		case squeeze(t) != squeeze(c.Type):
			out = append(out, fmt.Sprintf("column %s is %s now, %s in the backup", c.Name, c.Type, t))
		}
		delete(was, c.Name)
	}
	for _, c := range backup {
		if _, ok := was[c.Name]; ok {
			out = append(out, fmt.Sprintf("column %s %s was dropped since the backup", c.Name, c.Type))
		}
	}
	return out
}

func squeeze(s string) string { return strings.Join(strings.Fields(s), "") }
