package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// journal keeps each mutant's outcome as it is decided, one JSON line per
// mutant, so a run stopped part-way (a full run takes hours on two cores)
// goes on where it stopped: a later run takes a mutant's outcome from the
// journal instead of testing it again, as long as nothing it depends on
// changed. A mutant is named by its package's sources and tests (their
// hash), its file, line, kind and description: any edit to the package
// tests its mutants again. An edit elsewhere in the module (a package its
// tests import) does not; the report says how many outcomes came from the
// journal, and a run without one (-journal "") tests every mutant. An
// operator mutant's description names its change exactly (the operator,
// line and column); a hand-made one's is a title, so the mutated file's
// hash is part of its name, and a change edited in mutants.txt is tested
// again. A kill by the test timeout (a
// machine too busy, perhaps) is not journaled: it is tested again.
type journal struct {
	mu   sync.Mutex
	path string
	seen map[string]journalEntry
	pkgs map[string]string // package dir → hash of its inputs (inputs.go)
	// inputs are, per package dir, the paths its outcomes depend on.
	inputs map[string][]string
	keys   map[*mutant]string // each mutant's name in the journal, made before any runs
	root   string
	taken  int // outcomes this run took from the journal
	// seeded is how many of the journal's outcomes came from the
	// committed report (seed.go), seededFrom the commit it tested.
	seeded     int
	seededFrom string
}

type journalEntry struct {
	Key    string `json:"key"`
	Status string `json:"status"`
	By     string `json:"by,omitempty"`
}

// openJournal reads the journal at path (none yet is an empty one) for
// the pristine module copy at root. path "" keeps no journal.
func openJournal(path, root string) (*journal, error) {
	j := &journal{path: path, seen: map[string]journalEntry{}, pkgs: map[string]string{}, inputs: map[string][]string{}, keys: map[*mutant]string{}, root: root}
	if path == "" {
		return j, nil
	}
	f, err := os.Open(path) //nolint:gosec // the journal's path, named by the task
	if errors.Is(err, fs.ErrNotExist) {
		return j, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the journal: %w", err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		var e journalEntry
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Key != "" { // a line cut by a kill is skipped
			j.seen[e.Key] = e
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read the journal: %w", err)
	}
	return j, nil
}

// recall sets m's outcome from the journal and reports whether it had one.
func (j *journal) recall(m *mutant) (bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	key, ok := j.keys[m]
	if !ok {
		return false, fmt.Errorf("mutant #%d was not named before the run", m.ID)
	}
	e, ok := j.seen[key]
	if ok {
		m.Status, m.By = e.Status, e.By
		j.taken++
	}
	return ok, nil
}

// timedOut reports whether a kill was by the test timeout (a machine too
// busy, perhaps): such an outcome is never taken again, but tested again.
func timedOut(by string) bool { return strings.Contains(by, "(timed out)") }

// record appends m's outcome.
func (j *journal) record(m *mutant) error {
	if j.path == "" || timedOut(m.By) {
		return nil
	}
	j.mu.Lock()
	key := j.keys[m]
	j.mu.Unlock()
	line, err := json.Marshal(journalEntry{Key: key, Status: m.Status, By: m.By})
	if err != nil {
		return fmt.Errorf("write the journal: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(j.path), 0o750); err != nil {
		return fmt.Errorf("write the journal: %w", err)
	}
	f, err := os.OpenFile(j.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600) //nolint:gosec // the journal's path, named by the task
	if err != nil {
		return fmt.Errorf("write the journal: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		_ = f.Close()
		return fmt.Errorf("write the journal: %w", err)
	}
	return f.Close()
}

// nameAll names each mutant in the journal before any is applied: the
// pristine copy is also a worker's, where mutants come and go.
func (j *journal) nameAll(ms []*mutant) error {
	for _, m := range ms {
		if m.apply == nil {
			continue // declared equivalent: never run
		}
		pkg, err := j.packageHash(filepath.Dir(m.File))
		if err != nil {
			return err
		}
		key := fmt.Sprintf("%s|%s:%d|%s|%s", pkg, m.File, m.Line, m.Kind, m.What)
		if m.Kind == handMade { // its description is a title: the change itself is named by its hash
			orig, err := os.ReadFile(filepath.Join(j.root, m.File)) //nolint:gosec // a file of the module's copy
			if err != nil {
				return fmt.Errorf("name mutant #%d: %w", m.ID, err)
			}
			changed, err := m.apply(orig)
			if err != nil {
				return fmt.Errorf("name mutant #%d: %w", m.ID, err)
			}
			sum := sha256.Sum256(changed)
			key += "|" + hex.EncodeToString(sum[:8])
		}
		j.keys[m] = key
	}
	return nil
}

// packageHash is the hash of what the outcomes of the package's mutants
// depend on (inputs.go), as it is in the pristine copy.
func (j *journal) packageHash(dir string) (string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if h, ok := j.pkgs[dir]; ok {
		return h, nil
	}
	paths, err := inputs(j.root, dir)
	if err != nil {
		return "", err
	}
	sum, err := hashInputs(j.root, paths)
	if err != nil {
		return "", fmt.Errorf("hash package %s: %w", dir, err)
	}
	j.pkgs[dir] = sum
	j.inputs[dir] = paths
	return sum, nil
}
