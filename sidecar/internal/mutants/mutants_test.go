package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHandmadeReplacesTheSnippetOnce: a hand-made mutant replaces its
// snippet, indented as the file has it; a snippet that is not in the file,
// or is in it twice, is an error naming the mutant.
func TestHandmadeReplacesTheSnippetOnce(t *testing.T) {
	dir := t.TempDir()
	src := "package x\n\nfunc f(a, b int) bool {\n\tif a > 0 &&\n\t\tb > 0 {\n\t\treturn true\n\t}\n\treturn false\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "x.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(dir, "list.txt")
	text := "# comment\n\n== x.go | the condition is dropped\n- if a > 0 &&\n-    b > 0 {\n+ if true {\n\n" +
		"== x.go | twice\n- }\n+ }\n\n== x.go | gone\n- return maybe\n"
	if err := os.WriteFile(list, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	hs, err := readHandmade(list)
	if err != nil || len(hs) != 3 {
		t.Fatalf("read the list: %d entries, %v", len(hs), err)
	}
	m, err := hs[0].mutant(dir)
	if err != nil || m.Line != 4 {
		t.Fatalf("mutant: %+v, %v", m, err)
	}
	got, err := m.apply([]byte(src))
	if want := "package x\n\nfunc f(a, b int) bool {\n\tif true {\n\t\treturn true\n\t}\n\treturn false\n}\n"; err != nil || string(got) != want {
		t.Fatalf("applied: %q, %v; want %q", got, err, want)
	}
	for i, want := range map[int]string{1: "lines 7 and 9", 2: "not in x.go"} {
		if _, err := hs[i].mutant(dir); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", hs[i].title, err, want)
		}
	}
}

// TestReadHandmadeRefusesJunk: a line the format does not know is an
// error with its line number.
func TestReadHandmadeRefusesJunk(t *testing.T) {
	list := filepath.Join(t.TempDir(), "list.txt")
	for text, want := range map[string]string{
		"== x.go | t\n- a\nb\n":   "list.txt:3",
		"== x.go no title\n":      "list.txt:1",
		"== x.go | t\n+ b\n- a\n": "after the",
		"== x.go | t\n+ b\n":      "has no",
	} {
		if err := os.WriteFile(list, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := readHandmade(list); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error saying %q", text, err, want)
		}
	}
}

// TestOperatorMutantFlipsTheTokenGremlinsNamed: the token at gremlins'
// position is flipped, the longest one (<= is not read as <).
func TestOperatorMutantFlipsTheTokenGremlinsNamed(t *testing.T) {
	dir := t.TempDir()
	src := "package x\n\nvar a, b = 1, 2\nvar c = a <= b && b != 0\n"
	if err := os.WriteFile(filepath.Join(dir, "x.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kind string
		col  int
		want string
	}{
		{"CONDITIONALS_BOUNDARY", 11, "var c = a < b && b != 0"},
		{"CONDITIONALS_NEGATION", 11, "var c = a > b && b != 0"},
		{"INVERT_LOGICAL", 16, "var c = a <= b || b != 0"},
		{"CONDITIONALS_NEGATION", 21, "var c = a <= b && b == 0"},
	} {
		m, err := operatorMutant(dir, "x.go", c.kind, 4, c.col)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.apply([]byte(src))
		if err != nil || !strings.Contains(string(got), c.want+"\n") {
			t.Errorf("%s at %d: %q, %v; want %q", c.kind, c.col, got, err, c.want)
		}
	}
	if _, err := operatorMutant(dir, "x.go", "INVERT_LOGICAL", 4, 11); err == nil {
		t.Error("a mutator at a token it does not flip: no error")
	}
}

// TestFailingTestIsNamed: the report names the failing test, the subtest
// when one failed, and the test that ran when the binary timed out.
func TestFailingTestIsNamed(t *testing.T) {
	for out, want := range map[string]string{
		"--- FAIL: TestA (0.00s)\n    x_test.go:3: no\nFAIL\n":                                                                           "TestA",
		"--- FAIL: TestA (0.00s)\n    --- FAIL: TestA/sub (0.00s)\nFAIL\n":                                                               "TestA/sub",
		"panic: test timed out after 1m0s\nrunning tests:\n\tTestLoop (1m0s)\n\ngoroutine":                                               "TestLoop (timed out)",
		"fatal error: runtime: out of memory\n\ngoroutine 7 [running]:\nexample.com/x.tokenize(...)\nexample.com/x.TestTokenize(0xc0)\n": "TestTokenize (fatal error: runtime: out of memory)",
		"panic: runtime error: index out of range [3] with length 3\n":                                                                   "panic: runtime error: index out of range [3] with length 3",
	} {
		if got := failingTest([]byte(out)); got != want {
			t.Errorf("%q: %q, want %q", out, got, want)
		}
	}
}

// TestEveryHandmadeMutantFindsItsSnippet: each hand-made mutant of the
// checked-in list still finds its snippet, once, in the code as it is. A
// change that moves the code under one would otherwise be found only by
// the next mutation run, hours long, which then stops at it.
func TestEveryHandmadeMutantFindsItsSnippet(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	hs, err := readHandmade("mutants.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if _, err := h.mutant(root); err != nil {
			t.Error(err)
		}
	}
}
