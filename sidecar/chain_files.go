package sidecar

import (
	"context"
	"fmt"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// objectsOf finds, for each of files of b, the objects its content is
// made of, oldest first: a file an incremental shares with its base is
// found in the base's manifest by size and checksum, and that entry's
// part kept further down in the base's own base. The chain is walked down
// manifestWindow manifests at a time, the window dropped once passed and
// only the entries files need kept of it: every manifest lists every file
// of the database, and a restore plan or a verify of a link 40 deep that
// read them all held 40 (the check's count: some 900 MB for 50,000
// files). It drops every manifest and verdict c holds: c must be its own
// (newChecker), not a check's.
func (c *checker) objectsOf(ctx context.Context, b model.Backup, files []model.ManifestFile) ([][]string, error) {
	objects := make([][]string, len(files))
	// wanted: the entry of the next base down each file waits for, by key,
	// with the name it has in the link above (the one errors name).
	type waiting struct {
		file int
		name string
	}
	wanted := map[model.FileKey][]waiting{}
	for i, f := range files {
		objects[i] = withOwnObject(nil, b, f)
		if f.BaseSize > 0 {
			k := model.FileKey{Size: f.BaseSize, Checksum: f.BaseChecksum}
			wanted[k] = append(wanted[k], waiting{i, f.Name})
		}
	}
	chain := c.basesOf(b)
	for depth, above := 0, b; len(wanted) > 0; depth++ {
		if depth == len(chain) {
			first := firstWaiting(wanted)
			return nil, fmt.Errorf("file %s is kept in base backup %q, which is gone", first.name, above.Base)
		}
		base := chain[depth]
		if depth%manifestWindow == 0 {
			c.forgetAllBut(nil)
			c.loadManifests(ctx, chain[depth:min(depth+manifestWindow, len(chain))])
		}
		m := c.manifest(ctx, base)
		if m.problem != "" {
			return nil, fmt.Errorf("file %s is kept in base backup %s: %s", firstWaiting(wanted).name, base.Name, m.problem)
		}
		next := map[model.FileKey][]waiting{}
		for k, ws := range wanted {
			entry, ok := m.files[k]
			if !ok {
				return nil, fmt.Errorf("file %s is kept in base backup %s, whose manifest does not list it", ws[0].name, base.Name)
			}
			for _, w := range ws {
				objects[w.file] = withOwnObject(objects[w.file], base, entry)
				if entry.BaseSize > 0 {
					nk := model.FileKey{Size: entry.BaseSize, Checksum: entry.BaseChecksum}
					next[nk] = append(next[nk], waiting{w.file, entry.Name})
				}
			}
		}
		wanted, above = next, base
	}
	c.forgetAllBut(nil)
	return objects, nil
}

// basesOf is the chain under b, its base first; it stops at a base the
// catalog does not have (objectsOf names it, if a file needs it).
func (c *checker) basesOf(b model.Backup) []model.Backup {
	var bases []model.Backup
	for base, ok := c.cat.Find(b.Base); ok; base, ok = c.cat.Find(base.Base) {
		bases = append(bases, base)
	}
	return bases
}

// withOwnObject puts the object b keeps of f, if any, before objects (the
// parts of f's content found above it, which come after it).
func withOwnObject(objects []string, b model.Backup, f model.ManifestFile) []string {
	if f.StoredSize() == 0 {
		return objects
	}
	return append([]string{coord.FileKey(b.Folder, f.DataFile)}, objects...)
}

// firstWaiting is one waiting file (the errors name one).
func firstWaiting[W any](wanted map[model.FileKey][]W) W {
	for _, ws := range wanted {
		return ws[0]
	}
	var none W
	return none
}

// readObjects reads objects and joins them: one file's content.
func (c *checker) readObjects(ctx context.Context, objects []string) ([]byte, error) {
	var data []byte
	for _, key := range objects {
		own, _, err := c.s.store.Get(ctx, key)
		if err != nil {
			return nil, err
		}
		data = append(data, own...)
	}
	return data, nil
}
