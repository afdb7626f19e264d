// Command mutants is the mutation run of ClickVault's safety rules (issue
// 24): it applies each mutant of the rules to a copy of the module, runs
// the unit tests of its package, and writes which test killed it, or that
// none did. See docs/mutants.md, which it writes, and `go tool task
// mutants`, which runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

type options struct {
	list, report, only, journal string
	workers                     int
	dry, seed                   bool
}

func main() {
	var o options
	flag.StringVar(&o.list, "list", "sidecar/internal/mutants/mutants.txt", "the hand-made mutants")
	flag.StringVar(&o.report, "report", "", "write the Markdown report here (docs/mutants.md); none when empty")
	flag.StringVar(&o.only, "only", "", "run only the mutants whose file, rule or description matches this regexp")
	flag.IntVar(&o.workers, "workers", 2, "mutants tested at once, each in its own copy of the module")
	flag.BoolVar(&o.dry, "dry", false, "list the mutants, test none")
	flag.StringVar(&o.journal, "journal", ".cache/mutants.jsonl", "keep each outcome here, and take those of unchanged packages from it (a stopped run goes on); \"\" tests every mutant")
	flag.BoolVar(&o.seed, "seed", true, "take the outcomes the report (-report) gives for mutants whose inputs are unchanged since the commit it tested, as if journaled (needs -journal)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		os.Exit(1)
	}
}

// errSurvivors fails the run when a mutant survived: the report says which.
var errSurvivors = errors.New("mutants survived")

func run(ctx context.Context, o options) error {
	if _, err := os.Stat("go.mod"); err != nil {
		return fmt.Errorf("run from the module's root: %w", err)
	}
	tmp, err := os.MkdirTemp("", "clickvault-mutants-*")
	if err != nil {
		return fmt.Errorf("make a work directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	first, err := copyModule(".", tmp)
	if err != nil {
		return err
	}
	ms, err := collect(ctx, tmp, first, o)
	if err != nil {
		return err
	}
	if o.dry {
		for _, m := range ms {
			fmt.Printf("#%d %s %s:%d %s: %s %s\n", m.ID, m.Rule, m.File, m.Line, m.Kind, m.What, m.Status)
		}
		return nil
	}
	jl, err := openJournal(o.journal, first)
	if err != nil {
		return err
	}
	if err := jl.nameAll(ms); err != nil {
		return err
	}
	if o.seed && o.report != "" && o.journal != "" {
		if jl.seededFrom, err = jl.seedFromReport(".", o.report, o.list, ms); err != nil {
			return err
		}
	}
	if err := baseline(ctx, first, ms); err != nil {
		return err
	}
	if err := runAll(ctx, tmp, first, ms, o.workers, jl); err != nil {
		return err
	}
	return finish(ms, o.report, o.only, jl)
}

// collect lists gremlins' mutants and the hand-made ones, numbered.
func collect(ctx context.Context, tmp, root string, o options) ([]*mutant, error) {
	sc, err := loadScope(root)
	if err != nil {
		return nil, err
	}
	ops, err := gremlinsMutants(ctx, tmp, root, sc)
	if err != nil {
		return nil, err
	}
	hand, err := handmadeMutants(root, o.list, sc)
	if err != nil {
		return nil, err
	}
	eqs, err := readEquivalents(o.list)
	if err != nil {
		return nil, err
	}
	if err := markEquivalents(root, ops, eqs); err != nil {
		return nil, err
	}
	only, err := regexp.Compile(o.only)
	if err != nil {
		return nil, fmt.Errorf("-only: %w", err)
	}
	var ms []*mutant
	for _, m := range append(ops, hand...) {
		if only.MatchString(m.File) || only.MatchString(m.Rule) || only.MatchString(m.What) {
			m.ID = len(ms) + 1
			ms = append(ms, m)
		}
	}
	return ms, nil
}

// baseline runs each package's unit tests without a mutant: a test that
// fails already would kill every mutant and prove nothing.
func baseline(ctx context.Context, root string, ms []*mutant) error {
	seen := map[string]bool{}
	for _, m := range ms {
		pkg := filepath.Dir(m.File)
		if seen[pkg] {
			continue
		}
		seen[pkg] = true
		status, by, err := unitTests(ctx, root, pkg)
		if err != nil {
			return err
		}
		if status != survived {
			return fmt.Errorf("the unit tests of %s fail without any mutant (%s: %s); fix them first", pkg, status, by)
		}
	}
	return nil
}

// runAll tests the mutants, workers at a time, each worker in its own copy.
// Every copy is made from first before any mutant is applied: a copy made
// while another worker had a mutant in place would carry it into every run.
func runAll(ctx context.Context, tmp, first string, ms []*mutant, workers int, jl *journal) error {
	roots := []string{first}
	for len(roots) < max(workers, 1) {
		root, err := copyModule(first, tmp)
		if err != nil {
			return err
		}
		roots = append(roots, root)
	}
	queue := make(chan *mutant)
	var done atomic.Int64
	g, ctx := errgroup.WithContext(ctx)
	for _, root := range roots {
		g.Go(func() error {
			for m := range queue {
				if m.Status == equivalentStatus {
					continue
				}
				from, err := testOrRecall(ctx, root, m, jl)
				if err != nil {
					return err
				}
				fmt.Fprintf(os.Stderr, "[%d/%d] %-10s %s:%d %s %s%s\n", done.Add(1), len(ms), m.Status, m.File, m.Line, m.Kind, m.By, from)
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(queue)
		for _, m := range ms {
			select {
			case queue <- m:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	return g.Wait()
}

// testOrRecall takes m's outcome from the journal or else tests it and
// journals it; it says " (journal)" when the outcome came from there.
func testOrRecall(ctx context.Context, root string, m *mutant, jl *journal) (string, error) {
	ok, err := jl.recall(m)
	if err != nil || ok {
		return " (journal)", err
	}
	if err := runMutant(ctx, root, m); err != nil {
		return "", err
	}
	return "", jl.record(m)
}

// finish writes the report and fails when a mutant survived. only is the
// run's -only filter, which the report names so a partial run is never
// read as the whole.
func finish(ms []*mutant, report, only string, jl *journal) error {
	var t tally
	for _, m := range ms {
		t.add(m)
		if m.Status == survived {
			fmt.Fprintf(os.Stderr, "survived: #%d %s:%d %s: %s\n", m.ID, m.File, m.Line, m.Kind, m.What)
		}
	}
	fmt.Fprintf(os.Stderr, "%d mutants: %d killed, %d survived, %d equivalent, %d not viable\n", t.total, t.killed, t.survived, t.equivalent, t.notViable)
	if report != "" {
		f, err := os.Create(report) //nolint:gosec // the report's path, named by the task
		if err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
		if err := writeReport(f, ms, only, jl, revision()); err != nil {
			_ = f.Close()
			return fmt.Errorf("write the report: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
	}
	if t.survived > 0 {
		return fmt.Errorf("%d of %d: %w", t.survived, t.total, errSurvivors)
	}
	return nil
}

// revision names the commit the run tested, so a reader of the report can
// tell whether the rules changed since: "" when git cannot say.
func revision() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return ""
	}
	rev := "commit `" + strings.TrimSpace(string(out)) + "`"
	if dirty, err := exec.Command("git", "status", "--porcelain", "--", "sidecar").Output(); err == nil && len(dirty) > 0 {
		rev += ", with uncommitted changes under sidecar/"
	}
	return rev
}
