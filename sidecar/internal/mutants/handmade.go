package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// handMade is the kind of a mutant of mutants.txt (gremlins' kinds are
// its mutators' names).
const handMade = "hand-made"

// The hand-made mutants are what an operator flip does not make: a
// condition dropped, nil returned where an error was, a loop cut short, a
// rule's branch taken always. mutants.txt lists them:
//
//	== sidecar/control/rights.go | the allow-list is not checked
//	- if len(s.opts.AllowUsers) > 0 && !slices.Contains(s.opts.AllowUsers, r.RequestedBy) {
//	+ if false {
//
// "- " lines are the original snippet, consecutive lines of the file
// (compared without leading and trailing white space; it must occur once),
// "+ " lines what replaces them, indented as the first original line; no
// "+ " line deletes the snippet. Lines starting with # are comments.

// handmade is one entry of the list.
type handmade struct {
	file, title string
	from, to    []string
}

// readHandmade parses the list at path.
func readHandmade(path string) ([]handmade, error) {
	data, err := os.ReadFile(path) //nolint:gosec // the checked-in list, named by the task
	if err != nil {
		return nil, fmt.Errorf("read the hand-made mutants: %w", err)
	}
	var out []handmade
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "~~ "):
		case strings.HasPrefix(line, "== "):
			file, title, ok := strings.Cut(strings.TrimPrefix(line, "== "), " | ")
			if !ok {
				return nil, fmt.Errorf("%s:%d: want \"== file | title\"", path, n)
			}
			out = append(out, handmade{file: strings.TrimSpace(file), title: strings.TrimSpace(title)})
		case len(out) > 0 && (line == "+" || strings.HasPrefix(line, "+ ")):
			out[len(out)-1].to = append(out[len(out)-1].to, strings.TrimPrefix(strings.TrimPrefix(line, "+"), " "))
		case len(out) > 0 && strings.HasPrefix(line, "- "):
			if len(out[len(out)-1].to) > 0 {
				return nil, fmt.Errorf("%s:%d: a \"- \" line after the \"+ \" lines", path, n)
			}
			out[len(out)-1].from = append(out[len(out)-1].from, strings.TrimSpace(line[2:]))
		default:
			return nil, fmt.Errorf("%s:%d: want \"== file | title\", \"- original\", \"+ replacement\" or # comment", path, n)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	for _, h := range out {
		if len(h.from) == 0 {
			return nil, fmt.Errorf("%s: mutant %q has no \"- \" line", path, h.title)
		}
	}
	return out, nil
}

// mutant makes h a mutant of the copy at root; the snippet must be in the
// file once, so that the list fails loudly when the code under it moves.
func (h handmade) mutant(root string) (*mutant, error) {
	src, err := os.ReadFile(filepath.Join(root, h.file)) //nolint:gosec // a file of the module's copy
	if err != nil {
		return nil, fmt.Errorf("hand-made mutant %q: %w", h.title, err)
	}
	at, err := h.find(src)
	if err != nil {
		return nil, err
	}
	return &mutant{
		File: h.file, Line: at + 1, Kind: handMade, What: h.title,
		apply: func(b []byte) ([]byte, error) {
			i, err := h.find(b)
			if err != nil {
				return nil, err
			}
			return h.replace(b, i), nil
		},
	}, nil
}

// find returns the 0-based line where the snippet starts.
func (h handmade) find(src []byte) (int, error) {
	lines := strings.Split(string(src), "\n")
	found := -1
	for i := 0; i+len(h.from) <= len(lines); i++ {
		if !matchAt(lines[i:], h.from) {
			continue
		}
		if found >= 0 {
			return 0, fmt.Errorf("hand-made mutant %q: the snippet is in %s at lines %d and %d; make it longer", h.title, h.file, found+1, i+1)
		}
		found = i
	}
	if found < 0 {
		return 0, fmt.Errorf("hand-made mutant %q: the snippet is not in %s (the code moved: update mutants.txt)", h.title, h.file)
	}
	return found, nil
}

func matchAt(lines, snippet []string) bool {
	for k, s := range snippet {
		if strings.TrimSpace(lines[k]) != s {
			return false
		}
	}
	return true
}

// replace puts h.to in place of the snippet at line i, indented as it was.
func (h handmade) replace(src []byte, i int) []byte {
	lines := strings.Split(string(src), "\n")
	indent := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " \t"))]
	repl := make([]string, len(h.to))
	for k, l := range h.to {
		repl[k] = indent + l
	}
	lines = slices.Concat(lines[:i], repl, lines[i+len(h.from):])
	return []byte(strings.Join(lines, "\n"))
}

// handmadeMutants reads the list and makes each entry a mutant.
func handmadeMutants(root, list string, sc scope) ([]*mutant, error) {
	hs, err := readHandmade(list)
	if err != nil {
		return nil, err
	}
	out := make([]*mutant, 0, len(hs))
	var stale []error // all of them at once: the code under several may have moved
	for _, h := range hs {
		m, err := h.mutant(root)
		if err != nil {
			stale = append(stale, err)
			continue
		}
		m.Rule = sc.ruleOf(h.file)
		out = append(out, m)
	}
	return out, errors.Join(stale...)
}
