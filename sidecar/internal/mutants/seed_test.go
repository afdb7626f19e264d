package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSeedTakesTheReportOfUnchangedPackages: a run with no journal takes
// from the committed report the outcomes of mutants whose package is as
// the report's commit had it (a hand-made one also needs mutants.txt
// unchanged), and tests the others; a report made on uncommitted changes
// seeds nothing.
func TestSeedTakesTheReportOfUnchangedPackages(t *testing.T) {
	repo := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	write := func(name, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(repo, name)), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q")
	write("p/x.go", "package p\n")
	write("q/y.go", "package q\n")
	write("mutants.txt", "# hand-made\n")
	git("add", ".")
	git("commit", "-qm", "rules")
	commit := git("rev-parse", "--short=12", "HEAD")
	mutants := func() []*mutant {
		return []*mutant{
			{ID: 1, File: "p/x.go", Line: 3, Kind: "CONDITIONALS_NEGATION", What: "`==` to `!=` at 3:5 | a pipe"},
			{ID: 2, File: "q/y.go", Line: 4, Kind: "CONDITIONALS_NEGATION", What: "`<` to `<=` at 4:2"},
			{ID: 3, File: "p/x.go", Line: 5, Kind: handMade, What: "a rule dropped",
				apply: func([]byte) ([]byte, error) { return []byte("package p // mutated\n"), nil }},
		}
	}
	tested := mutants()
	tested[0].Status, tested[0].By = killed, "TestP"
	tested[1].Status, tested[1].By = killed, "TestQ"
	tested[2].Status = survived
	writeTestReport(t, filepath.Join(repo, "report.md"), tested, "commit `"+commit+"`")

	seeded := func() []string {
		t.Helper()
		ms := mutants()
		for _, m := range ms {
			m.apply = func([]byte) ([]byte, error) { return []byte("package p // mutated\n"), nil }
		}
		j, err := openJournal(filepath.Join(t.TempDir(), "j.jsonl"), repo)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.nameAll(ms); err != nil {
			t.Fatal(err)
		}
		if _, err := j.seedFromReport(repo, "report.md", "mutants.txt", ms); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			if ok, err := j.recall(m); err != nil || ok {
				out = append(out, m.File+":"+m.Status+":"+m.By)
			}
		}
		return out
	}
	if got, want := strings.Join(seeded(), " "), "p/x.go:killed:TestP q/y.go:killed:TestQ p/x.go:survived:"; got != want {
		t.Fatalf("seeded with nothing changed: %q; want %q", got, want)
	}
	write("q/y.go", "package q // changed\n")
	write("mutants.txt", "# hand-made, edited\n")
	if got, want := strings.Join(seeded(), " "), "p/x.go:killed:TestP"; got != want {
		t.Fatalf("seeded after q and mutants.txt changed: %q; want %q", got, want)
	}
	write("p/new.go", "package p\n")
	if got := seeded(); len(got) != 0 {
		t.Fatalf("seeded with a file git does not track in p: %q; want nothing", got)
	}
	writeTestReport(t, filepath.Join(repo, "report.md"), tested, "commit `"+commit+"`, with uncommitted changes under sidecar/")
	if err := os.Remove(filepath.Join(repo, "p/new.go")); err != nil {
		t.Fatal(err)
	}
	if got := seeded(); len(got) != 0 {
		t.Fatalf("seeded from a report made on uncommitted changes: %q; want nothing", got)
	}
}

func writeTestReport(t *testing.T, path string, ms []*mutant, revision string) {
	t.Helper()
	f, err := os.Create(path) //nolint:gosec // a test's temporary file
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if err := writeReport(f, ms, "", &journal{}, revision); err != nil {
		t.Fatal(err)
	}
}
