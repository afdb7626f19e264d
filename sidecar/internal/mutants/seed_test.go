package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// seedRepo is a git repository of a module with packages p (whose tests
// build with r), q and r, a mutants.txt, and a report of three mutants.
type seedRepo struct {
	t      *testing.T
	dir    string
	commit string
}

func newSeedRepo(t *testing.T) *seedRepo {
	t.Helper()
	r := &seedRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q")
	r.write("go.mod", "module example.com/m\n\ngo 1.22\n")
	r.write("p/x.go", "package p\n\nimport _ \"example.com/m/r\"\n")
	r.write("q/y.go", "package q\n")
	r.write("r/z.go", "package r\n")
	r.write("mutants.txt", "# hand-made\n")
	r.git("add", ".")
	r.git("commit", "-qm", "rules")
	r.commit = r.git("rev-parse", "--short=12", "HEAD")
	return r
}

func (r *seedRepo) git(args ...string) string {
	r.t.Helper()
	out, err := exec.Command("git", append([]string{"-C", r.dir, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...).CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *seedRepo) write(name, body string) {
	r.t.Helper()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(r.dir, name)), 0o750); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, name), []byte(body), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

func seedMutants() []*mutant {
	mutated := func([]byte) ([]byte, error) { return []byte("package p // mutated\n"), nil }
	return []*mutant{ // each with a change: a mutant without one is declared equivalent, never named
		{ID: 1, File: "p/x.go", Line: 3, Kind: "CONDITIONALS_NEGATION", What: "`==` to `!=` at 3:5 | a pipe", apply: mutated},
		{ID: 2, File: "q/y.go", Line: 4, Kind: "CONDITIONALS_NEGATION", What: "`<` to `<=` at 4:2", apply: mutated},
		{ID: 3, File: "p/x.go", Line: 5, Kind: handMade, What: "a rule dropped", apply: mutated},
		{ID: 4, File: "q/y.go", Line: 1, Kind: "CONDITIONALS_BOUNDARY", What: "`<` to `<=` at 1:1", apply: mutated},
	}
}

// report writes report.md as a run of the repository's commit would.
func (r *seedRepo) report(revision string) {
	r.t.Helper()
	ms := seedMutants()
	ms[0].Status, ms[0].By = killed, "TestP"
	ms[1].Status, ms[1].By = killed, "TestQ"
	ms[2].Status = survived
	ms[3].Status, ms[3].By = killed, "TestSlow (timed out)"
	f, err := os.Create(filepath.Join(r.dir, "report.md"))
	if err != nil {
		r.t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if err := writeReport(f, ms, "", &journal{}, revision); err != nil {
		r.t.Fatal(err)
	}
}

// seeded opens an empty journal, seeds it from report.md, and says which
// mutants it then recalls, and how many it counted as seeded.
func (r *seedRepo) seeded() (string, int) {
	r.t.Helper()
	ms := seedMutants()
	j, err := openJournal(filepath.Join(r.t.TempDir(), "j.jsonl"), r.dir)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := j.nameAll(ms); err != nil {
		r.t.Fatal(err)
	}
	if _, err := j.seedFromReport(r.dir, "report.md", "mutants.txt", ms); err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		ok, err := j.recall(m)
		if err != nil {
			r.t.Fatal(err)
		}
		if ok {
			out = append(out, m.File+":"+m.Status+":"+m.By)
		}
	}
	return strings.Join(out, " "), j.seeded
}

// TestSeedTakesTheReportOfUnchangedInputs: a run with no journal takes
// from the committed report the outcomes of mutants whose inputs (their
// package, the packages their tests build with, go.mod) are as the
// report's commit had them — a hand-made one also needs mutants.txt
// unchanged, and a kill by the timeout is tested again — and tests the
// others; a report made on uncommitted changes seeds nothing.
func TestSeedTakesTheReportOfUnchangedInputs(t *testing.T) {
	r := newSeedRepo(t)
	r.report("commit `" + r.commit + "`")
	for _, step := range []struct {
		what, file, body, want string
		n                      int
	}{
		{"nothing changed", "", "", "p/x.go:killed:TestP q/y.go:killed:TestQ p/x.go:survived:", 3},
		{"mutants.txt edited", "mutants.txt", "# hand-made, edited\n", "p/x.go:killed:TestP q/y.go:killed:TestQ", 2},
		{"r, which p's tests build with, changed", "r/z.go", "package r // changed\n", "q/y.go:killed:TestQ", 1},
		{"a file git does not track in q", "q/new.go", "package q\n", "", 0},
	} {
		if step.file != "" {
			r.write(step.file, step.body)
		}
		if got, n := r.seeded(); got != step.want || n != step.n {
			t.Fatalf("%s: seeded %q (%d); want %q (%d)", step.what, got, n, step.want, step.n)
		}
	}
	r.git("checkout", "-q", ".")
	if err := os.Remove(filepath.Join(r.dir, "q/new.go")); err != nil {
		t.Fatal(err)
	}
	r.report("commit `" + r.commit + "`, with uncommitted changes under sidecar/")
	if got, n := r.seeded(); got != "" || n != 0 {
		t.Fatalf("seeded from a report made on uncommitted changes: %q (%d); want nothing", got, n)
	}
}
