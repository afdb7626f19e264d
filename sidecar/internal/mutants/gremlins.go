package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Gremlins (github.com/go-gremlins/gremlins, a tool of this module) finds
// the operator mutants: it parses the package and lists each token it can
// flip (== to !=, < to <=, && to ||, + to -, …) with its position. It only
// lists them here (--dry-run): the runner applies and tests each one
// itself, because gremlins mutates whole files where the rules are some
// functions of a file, and does not say which test killed a mutant.

// gremlinsFlags turns on, besides gremlins' defaults (arithmetic,
// boundary, negation, ++/--, unary minus), the mutators that fit rules
// made of conditions and loops.
var gremlinsFlags = []string{"--invert-logical", "--invert-loopctrl", "--invert-assignments", "--remove-self-assignments"}

// gremlinsReport is the part of gremlins' JSON output the runner reads.
type gremlinsReport struct {
	Files []struct {
		FileName  string `json:"file_name"`
		Mutations []struct {
			Type   string `json:"type"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"mutations"`
	} `json:"files"`
}

// flips is what each gremlins mutator turns a token into (gremlins'
// own table, internal/engine/mappings.go).
var flips = map[string]map[string]string{
	"ARITHMETIC_BASE":         {"+": "-", "-": "+", "*": "/", "/": "*", "%": "*"},
	"CONDITIONALS_BOUNDARY":   {">=": ">", ">": ">=", "<=": "<", "<": "<="},
	"CONDITIONALS_NEGATION":   {"==": "!=", "!=": "==", ">=": "<", ">": "<=", "<=": ">", "<": ">="},
	"INCREMENT_DECREMENT":     {"++": "--", "--": "++"},
	"INVERT_NEGATIVES":        {"-": "+"},
	"INVERT_LOGICAL":          {"&&": "||", "||": "&&"},
	"INVERT_LOOPCTRL":         {"break": "continue", "continue": "break"},
	"INVERT_ASSIGNMENTS":      {"+=": "-=", "-=": "+=", "*=": "/=", "/=": "*="},
	"REMOVE_SELF_ASSIGNMENTS": {"+=": "=", "-=": "=", "*=": "=", "/=": "=", "%=": "=", "|=": "=", "&=": "="},
}

// gremlinsMutants runs gremlins' dry run on each package of the scope
// and returns the mutants inside the rules, as positions in the copy at
// root.
func gremlinsMutants(ctx context.Context, tmp, root string, sc scope) ([]*mutant, error) {
	var out []*mutant
	for _, pkg := range sc.packages() {
		rep, err := gremlinsList(ctx, tmp, root, pkg)
		if err != nil {
			return nil, err
		}
		for _, f := range rep.Files {
			if strings.Contains(f.FileName, "/") {
				continue // a package under pkg: its own listing has it
			}
			file := filepath.ToSlash(filepath.Join(pkg, f.FileName))
			for _, m := range f.Mutations {
				rule, ok := sc.holds(file, m.Line)
				if !ok {
					continue
				}
				mu, err := operatorMutant(root, file, m.Type, m.Line, m.Column)
				if err != nil {
					return nil, err
				}
				mu.Rule = rule
				out = append(out, mu)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b *mutant) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return strings.Compare(a.What, b.What)
	})
	return out, nil
}

// gremlinsList lists the mutants of one package. Gremlins first measures
// the coverage of every package under the directory it is given, running
// their tests; the runner tests every mutant of the rules, covered or not,
// so gremlins is given a copy without test files under the directory: a
// failing or half-written test elsewhere cannot stop the listing.
func gremlinsList(ctx context.Context, tmp, root, pkg string) (gremlinsReport, error) {
	own, err := copyModule(root, tmp)
	if err != nil {
		return gremlinsReport{}, err
	}
	defer func() { _ = os.RemoveAll(own) }()
	err = filepath.WalkDir(filepath.Join(own, pkg), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, "_test.go") {
			err = os.Remove(path) //nolint:gosec // the runner's own copy, in its own temporary directory
		}
		return err
	})
	if err != nil {
		return gremlinsReport{}, fmt.Errorf("remove the tests from gremlins' copy: %w", err)
	}
	return gremlinsDryRun(ctx, own, pkg)
}

// gremlinsDryRun runs gremlins' dry run on pkg of the module at root.
func gremlinsDryRun(ctx context.Context, root, pkg string) (gremlinsReport, error) {
	outFile := filepath.Join(root, ".gremlins-"+strings.ReplaceAll(pkg, "/", "_")+".json")
	args := append([]string{"tool", "gremlins", "unleash", "--dry-run", "-o", outFile}, gremlinsFlags...)
	args = append(args, filepath.Join(root, pkg)) // gremlins finds its module from an absolute path only
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return gremlinsReport{}, fmt.Errorf("list the mutants of %s with gremlins: %w\n%s", pkg, err, stderr.String())
	}
	data, err := os.ReadFile(outFile) //nolint:gosec // the file gremlins was just told to write
	if err != nil {
		return gremlinsReport{}, fmt.Errorf("read gremlins' list of %s: %w", pkg, err)
	}
	var rep gremlinsReport
	if err := json.Unmarshal(data, &rep); err != nil {
		return gremlinsReport{}, fmt.Errorf("decode gremlins' list of %s: %w", pkg, err)
	}
	return rep, nil
}

// operatorMutant is the mutant of type kind at line:col of file: the token
// there, flipped as gremlins would.
func operatorMutant(root, file, kind string, line, col int) (*mutant, error) {
	src, err := os.ReadFile(filepath.Join(root, file)) //nolint:gosec // a file of the module's copy
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	off, err := offsetOf(src, line, col)
	if err != nil {
		return nil, fmt.Errorf("%s:%d:%d: %w", file, line, col, err)
	}
	from, to, ok := flipAt(src[off:], flips[kind])
	if !ok {
		return nil, fmt.Errorf("%s:%d:%d: no token gremlins' %s flips", file, line, col, kind)
	}
	return &mutant{
		File: file, Line: line, Kind: kind,
		What: fmt.Sprintf("`%s` → `%s` at column %d", from, to, col),
		apply: func(b []byte) ([]byte, error) {
			if !bytes.HasPrefix(b[off:], []byte(from)) {
				return nil, fmt.Errorf("%s:%d:%d no longer holds %s", file, line, col, from)
			}
			return slices.Concat(b[:off], []byte(to), b[off+len(from):]), nil
		},
	}, nil
}

// flipAt finds which token of table starts src (the longest, so that <=
// is not read as <) and what it becomes.
func flipAt(src []byte, table map[string]string) (from, to string, ok bool) {
	for tok, repl := range table {
		if bytes.HasPrefix(src, []byte(tok)) && len(tok) > len(from) {
			from, to, ok = tok, repl, true
		}
	}
	return from, to, ok
}

// offsetOf turns a 1-based line and byte column into an offset of src.
func offsetOf(src []byte, line, col int) (int, error) {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(src[off:], '\n')
		if i < 0 {
			return 0, fmt.Errorf("the file has fewer than %d lines", line)
		}
		off += i + 1
	}
	if off+col-1 >= len(src) {
		return 0, fmt.Errorf("column %d is past the end", col)
	}
	return off + col - 1, nil
}
