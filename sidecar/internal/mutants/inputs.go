package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// A mutant's outcome depends on more than its package's files: on every
// package of the module its tests build with (their sources, and test data
// in their testdata folders), on go.mod and go.sum, and on the module's
// testdata/ folder (the model's tests read metadata from there). An
// outcome is taken again (from the journal, or from the committed report)
// only while all of those are unchanged. The mutation tool's own files are
// not among them: a change to how it runs tests is reviewed with the
// report it writes, which names the commit it tested.

// moduleWide are the inputs of every package's tests.
var moduleWide = []string{"go.mod", "go.sum", "testdata"}

// inputs lists, relative to the module's root, what the outcome of a
// mutant in package dir depends on: "d/*.go" for a package's sources and
// tests (not its sub-packages'), "d/testdata" and the module-wide files
// as whole trees. It asks go list in root.
func inputs(root, dir string) ([]string, error) {
	cmd := exec.Command("go", "list", "-deps", "-test", "-f", //nolint:gosec // a package folder of the module
		"{{if and .Module .Module.Main}}{{.Dir}}{{end}}", "./"+filepath.ToSlash(dir))
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("list what %s's tests build with: %w", dir, err)
	}
	seen := map[string]bool{}
	var paths []string
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		rel, err := filepath.Rel(root, line)
		if line == "" || err != nil || strings.HasPrefix(rel, "..") || seen[rel] {
			continue
		}
		seen[rel] = true
		paths = append(paths, filepath.ToSlash(filepath.Join(rel, "*.go")), filepath.ToSlash(filepath.Join(rel, "testdata")))
	}
	sort.Strings(paths)
	return append(paths, moduleWide...), nil
}

// hashInputs hashes the files the paths of inputs name under root; a path
// that names nothing adds nothing.
func hashInputs(root string, paths []string) (string, error) {
	h := sha256.New()
	for _, p := range paths {
		files, err := inputFiles(root, p)
		if err != nil {
			return "", err
		}
		for _, f := range files {
			data, err := os.ReadFile(filepath.Join(root, f)) //nolint:gosec // a file of the module's copy
			if err != nil {
				return "", fmt.Errorf("hash %s: %w", f, err)
			}
			_, _ = h.Write([]byte(f + "\x00"))
			_, _ = h.Write(data)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// inputFiles are the files one path of inputs names, sorted.
func inputFiles(root, path string) ([]string, error) {
	if strings.HasSuffix(path, "*.go") {
		names, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(path)))
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", path, err)
		}
		out := make([]string, 0, len(names))
		for _, n := range names {
			rel, _ := filepath.Rel(root, n)
			out = append(out, filepath.ToSlash(rel))
		}
		sort.Strings(out)
		return out, nil
	}
	var out []string
	err := filepath.WalkDir(filepath.Join(root, filepath.FromSlash(path)), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("list %s: %w", path, err)
	}
	sort.Strings(out)
	return out, nil
}

// pathspecs are the paths of inputs as git pathspecs: "d/*.go" matches no
// file of a sub-folder.
func pathspecs(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = p
		if strings.Contains(p, "*") {
			out[i] = ":(glob)" + p
		}
	}
	return out
}
