package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
)

// rule is one of the rules that decide safety, as code: a file, and the
// functions of it that are the rule (none: the whole file). Only mutants
// inside them are run; the rest of a file (I/O around a rule, messages) is
// not what the acceptance names.
type rule struct {
	name  string
	file  string   // module-relative; a pattern (*) names every file it matches not named before it, tests aside
	funcs []string // "Name" or "Recv.Name"; empty for the whole file
}

// rules are the named rules of issue 24: rights, admission, claims,
// retention, plan (the backup's and the restore's), restore shape and
// targets.
var rules = []rule{
	{name: "rights", file: "sidecar/control/rights.go"},
	{name: "rights", file: "sidecar/control/include_rights.go"},
	{name: "rights", file: "sidecar/control/grants.go"},         // grants read once per authorization, kept a second only to refuse
	{name: "rights", file: "sidecar/clickhouse/grants_eval.go"}, // how ClickHouse's grants and revokes are read
	{name: "rights", file: "sidecar/restore_plan_rights.go"},    // the rights a restored view's SQL SECURITY takes
	{name: "admission", file: "sidecar/control/admission.go"},
	{name: "admission", file: "sidecar/control/verify_scratch.go"},
	{name: "admission", file: "sidecar/control/parse.go"},                                           // parseJob: a request's fields, before any I/O
	{name: "admission", file: "sidecar/control/confirm.go", funcs: []string{"judgeInsert"}},         // whose INSERT the row really is
	{name: "admission", file: "sidecar/control/proof.go", funcs: []string{"base.operator", "Sign"}}, // the operator's exemptions
	{name: "claims", file: "sidecar/coord/claims.go"},
	{name: "claims", file: "sidecar/coord/claims_runs.go"},
	{name: "claims", file: "sidecar/control/heartbeat.go"},
	{name: "retention", file: "sidecar/model/retention.go"},
	{name: "retention", file: "sidecar/cluster/setmodel/retention_sets.go"},                // a cluster's sets, kept and deleted whole
	{name: "retention", file: "sidecar/coord/pins.go", funcs: []string{"FoundPin.Stale"}},  // a pin past it keeps nothing
	{name: "retention", file: "sidecar/model/locks.go", funcs: []string{"keepLocked"}},     // what the bucket's Object Lock holds is kept
	{name: "retention", file: "sidecar/coord/lock.go", funcs: []string{"Retention.Holds"}}, // a hold past its date keeps nothing
	{name: "retention", file: "sidecar/cleanup_lock.go", funcs: []string{"longerHold"}},    // the longest of a backup's holds
	{name: "backup plan", file: "sidecar/model/plan.go"},
	{name: "restore plan", file: "sidecar/model/definitions.go", funcs: []string{"RestorePlan.Keep", "DefinitionFile"}},
	{name: "restore plan", file: "sidecar/model/restore_plan*.go"}, // every other file of the plan, as they come
	{name: "restore shape", file: "sidecar/model/restore.go", funcs: []string{"ValidateRestoreShape", "ForbiddenTarget", "Target.RequireEmpty"}},
	{name: "restore shape", file: "sidecar/restore.go", funcs: []string{"restorer.targetExists"}},
	{name: "restore targets", file: "sidecar/model/restore_tables.go", funcs: []string{"ParseRestoreMode", "ParseTableRestore",
		"ValidatePartitions", "TableTargets.Admit"}},
	{name: "restore targets", file: "sidecar/restore_tables.go", funcs: []string{"restorer.InspectTables"}},
}

// span is a range of lines, both ends included.
type span struct{ from, to int }

// scope is, per module-relative file, the rule's name and the lines in it.
type scope map[string]struct {
	rule  string
	spans []span
}

// loadScope parses each rule's file under root and finds its functions.
func loadScope(root string) (scope, error) {
	sc := scope{}
	for _, r := range rules {
		files, err := ruleFiles(root, r.file)
		if err != nil {
			return nil, fmt.Errorf("find the rule %s: %w", r.name, err)
		}
		for _, f := range files {
			if _, named := sc[f]; named {
				continue
			}
			spans, err := funcSpans(filepath.Join(root, f), r.funcs)
			if err != nil {
				return nil, fmt.Errorf("find the rule %s: %w", r.name, err)
			}
			sc[f] = struct {
				rule  string
				spans []span
			}{r.name, spans}
		}
	}
	return sc, nil
}

// ruleFiles are the module-relative files a rule's file names: itself, or
// what its pattern matches but tests.
func ruleFiles(root, file string) ([]string, error) {
	if !strings.Contains(file, "*") {
		return []string{file}, nil
	}
	matches, err := filepath.Glob(filepath.Join(root, file))
	if err != nil || len(matches) == 0 {
		return nil, fmt.Errorf("no file matches %s: %w", file, err)
	}
	var out []string
	for _, m := range matches {
		if rel, err := filepath.Rel(root, m); err == nil && !strings.HasSuffix(m, "_test.go") {
			out = append(out, filepath.ToSlash(rel))
		}
	}
	return out, nil
}

// funcSpans returns the lines of the named functions of a file, or of the
// whole file when names is empty. A name not found is an error: the rule
// moved, and the list must follow it.
func funcSpans(path string, names []string) ([]span, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if len(names) == 0 {
		return []span{{1, fset.Position(f.End()).Line}}, nil
	}
	var spans []span
	found := map[string]bool{}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || !slices.Contains(names, funcName(fd)) {
			continue
		}
		found[funcName(fd)] = true
		spans = append(spans, span{fset.Position(fd.Pos()).Line, fset.Position(fd.End()).Line})
	}
	for _, n := range names {
		if !found[n] {
			return nil, fmt.Errorf("%s has no function %s", path, n)
		}
	}
	return spans, nil
}

// funcName is "Name" for a function, "Recv.Name" for a method.
func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + fd.Name.Name
	}
	return fd.Name.Name
}

// holds reports whether line of file is in a rule, and which.
func (sc scope) holds(file string, line int) (string, bool) {
	e, ok := sc[file]
	if !ok {
		return "", false
	}
	for _, s := range e.spans {
		if line >= s.from && line <= s.to {
			return e.rule, true
		}
	}
	return "", false
}

// packages are the module-relative directories the rules live in.
func (sc scope) packages() []string {
	var out []string
	for f := range sc {
		if d := filepath.Dir(f); !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

// ruleOf names the rule of a file, for a hand-made mutant.
func (sc scope) ruleOf(file string) string {
	if e, ok := sc[file]; ok {
		return e.rule
	}
	return strings.TrimSuffix(filepath.Base(file), ".go")
}
