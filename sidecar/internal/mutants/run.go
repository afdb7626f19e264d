package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Outcomes of a mutant.
const (
	killed    = "killed"
	survived  = "survived"
	notViable = "not viable" // it does not compile: no test can run on it
	// equivalentStatus: declared in mutants.txt as changing nothing the
	// code does (equivalent.go); not run.
	equivalentStatus = "equivalent"
)

// mutant is one change to one rule, and what the unit tests made of it.
type mutant struct {
	ID     int
	Rule   string
	File   string // module-relative
	Line   int
	Kind   string // gremlins' mutator, or "hand-made"
	What   string
	Status string
	By     string // the test that failed; for a mutant not viable, the compiler's first complaint
	apply  func([]byte) ([]byte, error)
}

// testTimeout bounds one run of a package's unit tests (they take a few
// seconds); a mutant that makes a loop endless is killed by it.
const testTimeout = 30 * time.Second

// copyModule copies the module at src (its work tree, without .git and
// build output) to a new directory under tmp: mutants are applied there,
// never to the work tree other people edit.
func copyModule(src, tmp string) (string, error) {
	dst, err := os.MkdirTemp(tmp, "module-*")
	if err != nil {
		return "", fmt.Errorf("make a copy of the module: %w", err)
	}
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if rel == ".git" || rel == "bin" || rel == "dist" || rel == ".cache" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o750)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path) //nolint:gosec // a file of the module being copied
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o600)
	})
	if err != nil {
		return "", fmt.Errorf("copy the module to %s: %w", dst, err)
	}
	return dst, nil
}

// runMutant applies m in the copy at root, runs the unit tests of its
// package, and puts the file back (a copy left mutated would spoil every
// later run in it, so failing to is an error).
func runMutant(ctx context.Context, root string, m *mutant) (err error) {
	path := filepath.Join(root, m.File)
	orig, err := os.ReadFile(path) //nolint:gosec // a file of the module's copy
	if err != nil {
		return fmt.Errorf("read %s: %w", m.File, err)
	}
	changed, err := m.apply(orig)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, changed, 0o600); err != nil {
		return fmt.Errorf("write mutant of %s: %w", m.File, err)
	}
	defer func() {
		if werr := os.WriteFile(path, orig, 0o600); werr != nil && err == nil {
			err = fmt.Errorf("put %s back: %w", m.File, werr)
		}
	}()
	m.Status, m.By, err = unitTests(ctx, root, filepath.Dir(m.File))
	return err
}

// unitTests builds the test binary of pkg and runs its unit tests (-short)
// until the first failure. It answers survived when they pass, killed
// with the failing test when not, and not viable when the package does
// not compile.
func unitTests(ctx context.Context, root, pkg string) (status, by string, err error) {
	bin := filepath.Join(root, ".mutant.test")
	// Without the symbol table and DWARF the link, most of a mutant's
	// time, is shorter; a panic's stack still names its test.
	build := exec.CommandContext(ctx, "go", "test", "-c", "-vet=off", "-ldflags=-s -w", "-o", bin, "./"+pkg) //nolint:gosec // go itself, on the copy
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return "", "", fmt.Errorf("build the tests of %s: %w", pkg, ctx.Err())
		}
		return notViable, firstCompileError(out), nil
	}
	if _, err := os.Stat(bin); err != nil {
		return "", "", fmt.Errorf("package %s has no tests: %w", pkg, err)
	}
	defer func() { _ = os.Remove(bin) }()
	tctx, cancel := context.WithTimeout(ctx, testTimeout+30*time.Second)
	defer cancel()
	// The address-space limit (2 GB; the tests need a few hundred MB) stops
	// a mutant that makes a loop grow a slice forever, quickly and before it
	// takes the machine's memory.
	run := exec.CommandContext(tctx, "sh", "-c", `ulimit -v 2000000; exec "$0" "$@"`, bin, //nolint:gosec // the test binary just built
		"-test.short", "-test.failfast", "-test.timeout="+testTimeout.String())
	run.Dir = filepath.Join(root, pkg)
	out, err := run.CombinedOutput()
	if ctx.Err() != nil {
		return "", "", fmt.Errorf("run the tests of %s: %w", pkg, ctx.Err())
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return survived, "", nil
	case errors.As(err, &exit) || tctx.Err() != nil:
		return killed, failingTest(out), nil
	}
	return "", "", fmt.Errorf("run the tests of %s: %w", pkg, err)
}

var (
	failLine    = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)
	runningLine = regexp.MustCompile(`(?m)^running tests:\n\s+(\S+)`)
	panicLine   = regexp.MustCompile(`(?m)^panic: (.*)$`)
	fatalLine   = regexp.MustCompile(`(?m)^fatal error: (.*)$`)
	testFrame   = regexp.MustCompile(`(?m)^\S+\.(Test\w+)\(`)
)

// failingTest names the test a run's output says failed: the last FAIL
// line, which is the innermost subtest of the failing test.
func failingTest(out []byte) string {
	switch {
	case bytes.Contains(out, []byte("panic: test timed out")):
		if m := runningLine.FindSubmatch(out); m != nil {
			return string(m[1]) + " (timed out)"
		}
		return "(timed out)"
	case failLine.Match(out):
		all := failLine.FindAllSubmatch(out, -1)
		return string(all[len(all)-1][1])
	case fatalLine.Match(out):
		why := string(fatalLine.FindSubmatch(out)[1])
		if m := testFrame.FindSubmatch(out); m != nil {
			return string(m[1]) + " (fatal error: " + why + ")"
		}
		return "fatal error: " + why
	case panicLine.Match(out):
		return "panic: " + string(panicLine.FindSubmatch(out)[1])
	}
	return "(the test binary failed: " + firstLine(string(out)) + ")"
}

// firstCompileError is the compiler's first complaint, without the path
// of the copy.
func firstCompileError(out []byte) string {
	for _, l := range strings.Split(string(out), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			return strings.TrimSpace(l)
		}
	}
	return "build failed"
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}
