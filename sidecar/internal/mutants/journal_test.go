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
	write("x.go", "package p\n")
	write("x_test.go", "package p\n")
	path := filepath.Join(dir, "sub", "journal.jsonl")
	open := func() *journal {
		t.Helper()
		j, err := openJournal(path, root)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	m := func() *mutant { return &mutant{File: "p/x.go", Line: 3, Kind: "hand-made", What: "a rule dropped"} }

	first := open()
	done := m()
	done.Status, done.By = killed, "TestRule"
	if err := first.record(done); err != nil {
		t.Fatal(err)
	}
	again := m()
	if ok, err := open().recall(again); err != nil || !ok || again.Status != killed || again.By != "TestRule" {
		t.Fatalf("unchanged package: recalled %v (%v), %s by %s; want killed by TestRule", ok, err, again.Status, again.By)
	}
	write("x_test.go", "package p\n\n// a test changed\n")
	if ok, err := open().recall(m()); err != nil || ok {
		t.Errorf("after a test of the package changed: recalled %v (%v), want it tested again", ok, err)
	}
	if ok, _ := (&journal{seen: map[string]journalEntry{}, pkgs: map[string]string{}, root: root}).recall(m()); ok {
		t.Error("no journal recalled an outcome")
	}
}
