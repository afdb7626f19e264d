package shape

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// coordRecords are what the model may take from package coord: the records
// and names of the bucket it reasons about, never a function that reads or
// writes it (issue 24: no package mixes the pure model and I/O).
var coordRecords = map[string]bool{
	"FoundPin":      true, // a pin as a cleanup found it
	"PinStaleAfter": true, // when a pin's holder is taken for gone
	"BackupFile":    true, // the manifest's name, in messages
	"Retention":     true, // what the bucket's Object Lock holds of an object, as a cleanup read it
	"ShardFolder":   true, // a shard's folder name, the key of a set's per-shard records
	"ShardNumber":   true, // the shard such a folder name names
}

// pureModels are the packages of the pure model: the model of one
// database's chains, and the model of a cluster's sets.
var pureModels = [][]string{{"sidecar", "model"}, {"sidecar", "cluster", "setmodel"}}

// TestModelDoesNoIO holds the packages of the pure model to it: no import
// that reads, writes or waits (depguard says which), and of coord only its
// records.
func TestModelDoesNoIO(t *testing.T) {
	for _, parts := range pureModels {
		t.Run(filepath.Join(parts...), func(t *testing.T) {
			modelDoesNoIO(t, filepath.Join(append([]string{moduleRoot(t)}, parts...)...))
		})
	}
}

func modelDoesNoIO(t *testing.T, dir string) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no model files in %s: %v", dir, err)
	}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			switch p := strings.Trim(imp.Path.Value, `"`); {
			case p == "context", p == "os", p == "io", strings.HasPrefix(p, "net"), strings.HasPrefix(p, "log"),
				strings.HasPrefix(p, "golang.org/x/sync"), strings.HasSuffix(p, "rand"), strings.HasPrefix(p, "math/rand"):
				t.Errorf("%s imports %s: the model does no I/O, and its rules are functions of their arguments", filepath.Base(path), p)
			case strings.HasPrefix(p, "github.com/clickvault/") && p != "github.com/clickvault/clickvault/sidecar/coord":
				t.Errorf("%s imports %s: the model depends on no other part", filepath.Base(path), p)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			x, isIdent := sel.X.(*ast.Ident)
			switch {
			case isIdent && x.Name == "coord" && !coordRecords[sel.Sel.Name]:
				t.Errorf("%s: coord.%s: the model takes only coord's records (%v)", fset.Position(sel.Pos()), sel.Sel.Name, coordRecords)
			case isIdent && x.Name == "time" && sel.Sel.Name == "Now":
				t.Errorf("%s: time.Now: the model is told the time, it does not read the clock", fset.Position(sel.Pos()))
			}
			return true
		})
	}
}
