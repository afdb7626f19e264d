package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// A fresh clone has no journal, and a whole run takes hours on two cores.
// The committed report is a record of every outcome of the commit it
// tested, so a run seeds its journal from it: a mutant whose inputs
// (inputs.go: its package, the packages its tests build with, go.mod,
// go.sum, test data) are unchanged since that commit — git sees no
// difference and no file it does not track — takes the report's outcome,
// as a journaled one would. A hand-made mutant is named there by its title
// only, so it is seeded only while mutants.txt is unchanged too; a kill by
// the test timeout is never seeded. The run's report says how many
// outcomes came from which commit's report.

// testedCommit matches the sentence naming the commit a report tested,
// and whether that run had uncommitted changes.
var testedCommit = regexp.MustCompile("This run tested commit `([0-9a-f]{7,40})`(, with uncommitted)?")

// seedFromReport takes into the journal the outcomes the report at path
// gives for the mutants of ms whose packages are unchanged, in the git
// work tree repo, since the commit it tested. list is mutants.txt's path.
// It returns that commit ("" when it seeded nothing).
func (j *journal) seedFromReport(repo, path, list string, ms []*mutant) (string, error) {
	data, err := os.ReadFile(filepath.Join(repo, path)) //nolint:gosec // the report's path, named by the task
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the report to seed the journal: %w", err)
	}
	found := testedCommit.FindSubmatch(data)
	if found == nil || len(found[2]) > 0 {
		return "", nil
	}
	commit := string(found[1])
	rows := reportRows(string(data))
	unchanged := map[string]bool{}
	isUnchanged := func(paths ...string) bool {
		key := strings.Join(paths, "\x00")
		if _, ok := unchanged[key]; !ok {
			unchanged[key] = unchangedSince(repo, commit, paths)
		}
		return unchanged[key]
	}
	for _, m := range ms {
		key, named := j.keys[m]
		if !named || !isUnchanged(j.inputs[filepath.Dir(m.File)]...) || (m.Kind == handMade && !isUnchanged(list)) {
			continue
		}
		if row, ok := rows[m.File+":"+fmt.Sprint(m.Line)+"|"+reportWhat(m)]; ok && !timedOut(row.By) {
			if _, journaled := j.seen[key]; !journaled {
				j.seen[key] = row
				j.seeded++
			}
		}
	}
	return commit, nil
}

// unchangedSince reports whether the paths (of inputs, or a file) are as
// they were at commit: no difference git sees, nothing untracked in them.
func unchangedSince(repo, commit string, paths []string) bool {
	if len(paths) == 0 {
		return false // a package whose inputs are unknown is tested
	}
	specs := pathspecs(paths)
	diff := append([]string{"-C", repo, "diff", "--quiet", commit, "--"}, specs...)
	if exec.Command("git", diff...).Run() != nil { //nolint:gosec // a commit the report names, checked as hex
		return false
	}
	status := append([]string{"-C", repo, "status", "--porcelain", "--untracked-files=all", "--"}, specs...)
	out, err := exec.Command("git", status...).Output() //nolint:gosec // paths of the module
	return err == nil && len(out) == 0
}

// reportRows reads the outcomes of a report's table of every mutant, by
// where ("file:line") and what, as writeTable writes them.
func reportRows(report string) map[string]journalEntry {
	out := map[string]journalEntry{}
	_, every, ok := strings.Cut(report, "\n## Every mutant\n")
	if !ok {
		return out
	}
	for line := range strings.SplitSeq(every, "\n") {
		cells := splitRow(line)
		if len(cells) != 6 {
			continue
		}
		status, by := cells[4], cells[5]
		switch status {
		case killed:
			by = strings.Trim(by, "`")
		case survived, notViable:
		default:
			continue // the header, or an equivalent mutant (never run)
		}
		out[cells[2]+"|"+cells[3]] = journalEntry{Status: status, By: by}
	}
	return out
}

// splitRow splits a Markdown table row into its cells, unescaping the
// pipes cell escaped; nil for a line that is not a row.
func splitRow(line string) []string {
	if !strings.HasPrefix(line, "| ") || !strings.HasSuffix(line, " |") {
		return nil
	}
	var cells []string
	var cur strings.Builder
	body := line[2 : len(line)-2]
	for i := 0; i < len(body); i++ {
		switch {
		case body[i] == '\\' && i+1 < len(body) && body[i+1] == '|':
			cur.WriteByte('|')
			i++
		case strings.HasPrefix(body[i:], " | "):
			cells = append(cells, cur.String())
			cur.Reset()
			i += 2
		default:
			cur.WriteByte(body[i])
		}
	}
	return append(cells, cur.String())
}
