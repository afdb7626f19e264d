package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestJournalRecallsOnlyUnchangedPackages: an outcome journaled by one run
// is taken by the next while the mutant's package is unchanged, and is
// tested again once any file of the package (a test included) changed.
func TestJournalRecallsOnlyUnchangedPackages(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(root, "p"), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "p", name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/m\n\ngo 1.22\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write("x.go", "package p\n")
	write("x_test.go", "package p\n")
	path := filepath.Join(dir, "sub", "journal.jsonl")
	change := "package p // mutated\n"
	m := func() *mutant {
		return &mutant{File: "p/x.go", Line: 3, Kind: "hand-made", What: "a rule dropped",
			apply: func([]byte) ([]byte, error) { return []byte(change), nil }}
	}
	var named *mutant // the mutant open named last
	open := func() *journal {
		t.Helper()
		j, err := openJournal(path, root)
		if err != nil {
			t.Fatal(err)
		}
		named = m()
		if err := j.nameAll([]*mutant{named}); err != nil {
			t.Fatal(err)
		}
		return j
	}

	first := open()
	named.Status, named.By = killed, "TestRule"
	if err := first.record(named); err != nil {
		t.Fatal(err)
	}
	again := open()
	if ok, err := again.recall(named); err != nil || !ok || named.Status != killed || named.By != "TestRule" {
		t.Fatalf("unchanged package: recalled %v (%v), %s by %s; want killed by TestRule", ok, err, named.Status, named.By)
	}
	change = "package p // mutated otherwise\n"
	if ok, err := open().recall(named); err != nil || ok {
		t.Errorf("after the mutant's change was edited: recalled %v (%v), want it tested again", ok, err)
	}
	change = "package p // mutated\n"
	write("x_test.go", "package p\n\n// a test changed\n")
	j := open()
	if ok, err := j.recall(named); err != nil || ok {
		t.Errorf("after a test of the package changed: recalled %v (%v), want it tested again", ok, err)
	}
	named.Status, named.By = killed, "TestRule (timed out)"
	if err := j.record(named); err != nil {
		t.Fatal(err)
	}
	if ok, _ := open().recall(named); ok {
		t.Error("a kill by the test timeout was recalled, want it tested again")
	}
}
