package shape

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// maxMethods is the most methods one type may have, exported or not, its
// own and those it gets from the types of its package it embeds:
// past it a type is several things, and its parts want their own types
// (issue 24). Types of the code are counted, product and test
// infrastructure (sidecar/internal); types declared in _test.go files
// (the integration tests' harness) are not.
const maxMethods = 30

// over are the types still past maxMethods, with the count they have:
// each may shrink, never grow, and leaves this list once it is within
// maxMethods.
var over = map[string]int{}

// TestNoTypeHasMoreThan30Methods counts the methods of every type of the
// module, by its declarations.
func TestNoTypeHasMoreThan30Methods(t *testing.T) {
	counts := methodCounts(t, moduleRoot(t))
	var names []string
	for name := range counts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		n := counts[name]
		limit, known := over[name]
		if !known {
			limit = maxMethods
		}
		if n > limit {
			t.Errorf("%s has %d methods, more than %d: split it by responsibility", name, n, limit)
		}
	}
	for name, limit := range over {
		if counts[name] <= maxMethods {
			t.Errorf("%s has %d methods now: take it off the list of types over %d", name, counts[name], maxMethods)
		} else if counts[name] < limit {
			t.Logf("%s is down to %d methods: lower its entry", name, counts[name])
		}
	}
}

// moduleRoot is the folder of go.mod above this test.
func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

// methodCounts counts, per package folder and type, its methods: those
// declared in Go files other than tests, and those it gets from the types
// of its package it embeds (a type that embeds its parts has their methods
// too). Methods promoted from other packages' types are not counted.
func methodCounts(t *testing.T, root string) map[string]int {
	counts := map[string]int{}
	embeds := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(rel) + "."
		for _, decl := range f.Decls {
			if name := receiver(decl); name != "" {
				counts[pkg+name]++
			}
			for name, embedded := range embeddedTypes(decl) {
				for _, e := range embedded {
					embeds[pkg+name] = append(embeds[pkg+name], pkg+e)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	total := map[string]int{}
	var count func(name string, depth int) int
	count = func(name string, depth int) int {
		if n, ok := total[name]; ok || depth > 10 {
			return n
		}
		n := counts[name]
		for _, e := range embeds[name] {
			n += count(e, depth+1)
		}
		total[name] = n
		return n
	}
	for name := range counts {
		count(name, 0)
	}
	for name := range embeds {
		count(name, 0)
	}
	return total
}

// embeddedTypes are, per struct type a declaration declares, the types of
// its package it embeds (T or *T).
func embeddedTypes(decl ast.Decl) map[string][]string {
	gen, ok := decl.(*ast.GenDecl)
	if !ok {
		return nil
	}
	out := map[string][]string{}
	for _, spec := range gen.Specs {
		ts, ok := spec.(*ast.TypeSpec)
		if !ok {
			continue
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			continue
		}
		for _, f := range st.Fields.List {
			typ := f.Type
			if star, ok := typ.(*ast.StarExpr); ok {
				typ = star.X
			}
			if id, ok := typ.(*ast.Ident); ok && len(f.Names) == 0 {
				out[ts.Name.Name] = append(out[ts.Name.Name], id.Name)
			}
		}
	}
	return out
}

// receiver is the type a method is declared on; "" for anything else.
func receiver(decl ast.Decl) string {
	fn, ok := decl.(*ast.FuncDecl)
	if !ok || fn.Recv == nil || len(fn.Recv.List) == 0 {
		return ""
	}
	typ := fn.Recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	switch x := typ.(type) {
	case *ast.IndexExpr:
		typ = x.X
	case *ast.IndexListExpr:
		typ = x.X
	}
	if id, ok := typ.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}
