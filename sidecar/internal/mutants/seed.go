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
// tested, so a run seeds its journal from it: a mutant whose package's
// files are unchanged since that commit (git says so: no difference, no
// file git does not track) takes the report's outcome, as a journaled
// one would. A hand-made mutant is named there by its title only, so it
// is seeded only while mutants.txt is unchanged too. The report of the
// run says how many outcomes came from which commit's report.

// testedCommit finds the commit a report tested; "" when it names none
// or was made with uncommitted changes.
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
	isUnchanged := func(path string) bool {
		if _, ok := unchanged[path]; !ok {
			unchanged[path] = unchangedSince(repo, commit, path)
		}
		return unchanged[path]
	}
	for _, m := range ms {
		key, named := j.keys[m]
		if !named || !isUnchanged(filepath.Dir(m.File)) || (m.Kind == handMade && !isUnchanged(list)) {
			continue
		}
		if row, ok := rows[m.File+":"+fmt.Sprint(m.Line)+"|"+reportWhat(m)]; ok {
			if _, journaled := j.seen[key]; !journaled {
				j.seen[key] = row
				j.seeded++
			}
		}
	}
	return commit, nil
}

// unchangedSince reports whether path (a file or folder of the module) is
// as it was at commit: no difference git sees, nothing untracked in it.
func unchangedSince(repo, commit, path string) bool {
	if exec.Command("git", "-C", repo, "diff", "--quiet", commit, "--", path).Run() != nil { //nolint:gosec // a commit the report names, checked as hex
		return false
	}
	out, err := exec.Command("git", "-C", repo, "status", "--porcelain", "--", path).Output() //nolint:gosec // a path of the module
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
