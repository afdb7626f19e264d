package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// An equivalent mutant changes the code but not what it does, so no test
// can kill it (a bound past which a counter is never read, a loop's break
// where every later pass would skip anyway). mutants.txt declares each
// one, by file, gremlins' mutator and the line's text, with why:
//
//	~~ sidecar/retention.go | CONDITIONALS_BOUNDARY | if rule.keep <= 0 { | keep 0 stops at once anyway
//
// The report lists them apart with the reason. The line must be in the
// file once, and match a mutant: else the list is an error, so it follows
// the code.

// equivalent is one declaration.
type equivalent struct{ file, kind, line, why string }

// readEquivalents parses the "~~ " lines of the list at path.
func readEquivalents(path string) ([]equivalent, error) {
	data, err := os.ReadFile(path) //nolint:gosec // the checked-in list, named by the task
	if err != nil {
		return nil, fmt.Errorf("read the equivalent mutants: %w", err)
	}
	var out []equivalent
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		rest, ok := strings.CutPrefix(sc.Text(), "~~ ")
		if !ok {
			continue
		}
		f := strings.Split(rest, " | ")
		if len(f) != 4 || strings.TrimSpace(f[3]) == "" {
			return nil, fmt.Errorf("%s:%d: want \"~~ file | mutator | line | why\"", path, n)
		}
		out = append(out, equivalent{strings.TrimSpace(f[0]), strings.TrimSpace(f[1]), strings.TrimSpace(f[2]), strings.TrimSpace(f[3])})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// markEquivalents gives every mutant a declaration matches the outcome
// "equivalent" and the declaration's reason; they are not run.
func markEquivalents(root string, ms []*mutant, eqs []equivalent) error {
	lines := map[string][]string{}
	for _, e := range eqs {
		if lines[e.file] == nil {
			src, err := os.ReadFile(filepath.Join(root, e.file)) //nolint:gosec // a file of the module's copy
			if err != nil {
				return fmt.Errorf("equivalent mutant of %s: %w", e.file, err)
			}
			lines[e.file] = strings.Split(string(src), "\n")
		}
		if n := countLines(lines[e.file], e.line); n != 1 {
			return fmt.Errorf("equivalent mutant %s %s %q: the line is in the file %d times, want once", e.file, e.kind, e.line, n)
		}
		matched := false
		for _, m := range ms {
			if m.File == e.file && m.Kind == e.kind && m.Line <= len(lines[e.file]) && strings.TrimSpace(lines[e.file][m.Line-1]) == e.line {
				m.Status, m.By, matched = equivalentStatus, e.why, true
			}
		}
		if !matched {
			return fmt.Errorf("equivalent mutant %s %s %q matches no mutant (the code moved: update mutants.txt)", e.file, e.kind, e.line)
		}
	}
	return nil
}

func countLines(lines []string, text string) int {
	n := 0
	for _, l := range lines {
		if strings.TrimSpace(l) == text {
			n++
		}
	}
	return n
}
