package main

import (
	"fmt"
	"io"
	"strings"
)

// tally counts the outcomes of some mutants.
type tally struct{ total, killed, survived, equivalent, notViable int }

func (t *tally) add(m *mutant) {
	t.total++
	switch m.Status {
	case killed:
		t.killed++
	case survived:
		t.survived++
	case notViable:
		t.notViable++
	case equivalentStatus:
		t.equivalent++
	}
}

const reportHead = `# Mutation run of the safety rules

<!-- Written by ` + "`go tool task mutants`" + ` (sidecar/internal/mutants); do not edit by hand. -->

The rules that decide what is safe to run are tested by changing them and
watching a unit test fail. Each mutant is one small change to one rule: an
operator flipped (gremlins, a tool of this module, lists those: ` + "`==`" + ` to
` + "`!=`" + `, ` + "`<`" + ` to ` + "`<=`" + `, ` + "`&&`" + ` to ` + "`||`" + `, ` + "`+`" + ` to ` + "`-`" + `, …), or a hand-made
one from ` + "`sidecar/internal/mutants/mutants.txt`" + ` (a condition dropped, nil
returned for an error, a branch always taken). Each is applied to a copy of
the module, never to the work tree, and the unit tests of its package run
on it (` + "`go test -short`" + `, stopping at the first failure).

A mutant is **killed** when a test fails, and the table names that test;
it **survived** when every test passed: a rule can then be broken without
any test noticing. A mutant that does not compile (` + "`+`" + ` on strings turned
into ` + "`-`" + `) is **not viable**: no test could run on it. An **equivalent**
mutant changes the code but not what it does (a bound past which a counter
is never read): no test can kill it, so mutants.txt declares it with why,
and it is not run.

Run it with ` + "`go tool task mutants`" + `: every mutant builds a test binary, so
the whole list takes half an hour on two quiet cores, hours on busy ones. Each outcome is journaled as it is
decided (` + "`.cache/mutants.jsonl`" + `), so a run stopped part-way goes on where it
stopped, testing again only the mutants of packages changed since; and a
run takes the outcomes this report gives for mutants whose inputs (their
package, the packages its tests build with, go.mod, test data) are
unchanged since the commit it tested (` + "`-seed`" + `, on by default), so a fresh clone tests
only what changed. ` + "`-journal \"\"`" + ` tests every mutant (it turns seeding off too).
`

// writeReport writes the Markdown report of a run.
func writeReport(w io.Writer, ms []*mutant, only string, jl *journal, revision string) error {
	var b strings.Builder
	b.WriteString(reportHead)
	if revision != "" {
		fmt.Fprintf(&b, "\nThis run tested %s: a rule changed since may have mutants no test kills.\n", revision)
	}
	if only != "" {
		fmt.Fprintf(&b, "\n**A partial run:** only the mutants whose file, rule or description matches `-only %s` ran; "+
			"the totals count those alone.\n", only)
	}
	if fromJournal := jl.taken - jl.seeded; fromJournal > 0 {
		fmt.Fprintf(&b, "\nOutcomes taken from the journal of an earlier run (`-journal`), their inputs unchanged since they were tested: %d.\n", fromJournal)
	}
	if jl.seeded > 0 {
		fmt.Fprintf(&b, "\nOutcomes taken from this report as it was written for commit `%s` (`-seed`), their inputs "+
			"(and, for a hand-made mutant, mutants.txt) unchanged since that commit: %d.\n", jl.seededFrom, jl.seeded)
	}
	byRule, order := map[string]*tally{}, []string{}
	var all tally
	for _, m := range ms {
		if byRule[m.Rule] == nil {
			byRule[m.Rule] = &tally{}
			order = append(order, m.Rule)
		}
		byRule[m.Rule].add(m)
		all.add(m)
	}
	b.WriteString("\n## The rules\n\n| rule | file | functions |\n|---|---|---|\n")
	for _, r := range rules {
		funcs := "all"
		if strings.Contains(r.file, "*") {
			funcs = "all, in each file not named above"
		}
		if len(r.funcs) > 0 {
			funcs = "`" + strings.Join(r.funcs, "`, `") + "`"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s |\n", r.name, r.file, funcs)
	}
	b.WriteString("\n## Totals\n\n| rule | mutants | killed | survived | equivalent | not viable |\n|---|---:|---:|---:|---:|---:|\n")
	for _, r := range order {
		t := byRule[r]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d |\n", r, t.total, t.killed, t.survived, t.equivalent, t.notViable)
	}
	fmt.Fprintf(&b, "| **all** | **%d** | **%d** | **%d** | **%d** | **%d** |\n", all.total, all.killed, all.survived, all.equivalent, all.notViable)
	if all.survived > 0 {
		b.WriteString("\n## Survivors\n\nEach is a way to break a rule that no unit test notices.\n\n")
		writeTable(&b, ms, func(m *mutant) bool { return m.Status == survived })
	}
	if all.equivalent > 0 {
		b.WriteString("\n## Equivalent mutants\n\nEach changes the code but not what it does, so no test can tell; " +
			"mutants.txt declares it, and why (the last column).\n\n")
		writeTable(&b, ms, func(m *mutant) bool { return m.Status == equivalentStatus })
	}
	b.WriteString("\n## Every mutant\n\n")
	writeTable(&b, ms, func(*mutant) bool { return true })
	_, err := io.WriteString(w, b.String())
	return err
}

func writeTable(b *strings.Builder, ms []*mutant, keep func(*mutant) bool) {
	b.WriteString("| # | rule | where | mutant | outcome | killed by (or why equivalent) |\n|---:|---|---|---|---|---|\n")
	for _, m := range ms {
		if !keep(m) {
			continue
		}
		by := m.By
		if m.Status == equivalentStatus {
			by = "equivalent: " + by
		}
		if by != "" && m.Status == killed {
			by = "`" + by + "`"
		}
		fmt.Fprintf(b, "| %d | %s | %s:%d | %s | %s | %s |\n", m.ID, m.Rule, m.File, m.Line, cell(reportWhat(m)), m.Status, cell(by))
	}
}

// reportWhat is how the report's tables name a mutant's change, on one
// line: its kind, then what it changes.
func reportWhat(m *mutant) string {
	return strings.ReplaceAll(m.Kind+": "+m.What, "\n", " ")
}

// cell keeps a table cell on one line and its pipes out of the table's.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
