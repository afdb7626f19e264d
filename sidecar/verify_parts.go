package sidecar

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// partReaders bounds the count.txt objects read at once.
const partReaders = 16

// partRows sums, per table, the physical rows of the backup's parts: each
// part's count.txt, found through ClickHouse's manifest (in this backup or,
// for a part an incremental shares, in the base that holds it).
func (s *catalogs) partRows(ctx context.Context, cat model.Catalog, b model.Backup) (map[string]uint64, error) {
	return s.sumCounts(ctx, cat, b, func(name string) (string, bool) { return model.CountFile(name, b.Database) })
}

// partitionRows sums the physical rows of one table's parts in the backup
// per partition id (the part name up to its first _).
func (s *catalogs) partitionRows(ctx context.Context, cat model.Catalog, b model.Backup, table string) (map[string]uint64, error) {
	return s.sumCounts(ctx, cat, b, func(name string) (string, bool) {
		if t, ok := model.CountFile(name, b.Database); !ok || t != table {
			return "", false
		}
		part := strings.Split(name, "/")[3]
		id, _, _ := strings.Cut(part, "_")
		return id, true
	})
}

// sumCounts sums the count.txt files of b's parts under the key keyOf
// gives their file name (false: not counted).
func (s *catalogs) sumCounts(ctx context.Context, cat model.Catalog, b model.Backup, keyOf func(name string) (string, bool)) (map[string]uint64, error) {
	c := newChecker(s.engine, cat)
	m := c.manifest(ctx, b)
	if m.problem != "" {
		return nil, fmt.Errorf("read the parts of backup %s: %s", b.Name, m.problem)
	}
	// The manifests a part may be in are read first, as check reads them;
	// then the count.txt objects in parallel.
	var bases []model.Backup
	for base, ok := cat.Find(b.Base); ok; base, ok = cat.Find(base.Base) {
		bases = append(bases, base)
	}
	c.loadManifests(ctx, bases)
	out := map[string]uint64{}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(partReaders)
	for _, f := range m.all {
		key, ok := keyOf(f.Name)
		if !ok {
			continue
		}
		g.Go(func() error {
			data, err := c.content(gctx, b, f)
			if err != nil {
				return fmt.Errorf("read %s of backup %s: %w", f.Name, b.Name, err)
			}
			n, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
			if err != nil {
				return fmt.Errorf("read %s of backup %s: not a row count: %q", f.Name, b.Name, data)
			}
			mu.Lock()
			out[key] += n
			mu.Unlock()
			return nil
		})
	}
	return out, g.Wait()
}

// content reads a file of a backup: its part kept in the base (by base size
// and checksum), then its own object.
func (c *checker) content(ctx context.Context, b model.Backup, f model.ManifestFile) ([]byte, error) {
	var data []byte
	if f.BaseSize > 0 {
		base, inBase, problem := c.baseFile(ctx, b, f)
		if problem != "" {
			return nil, errors.New(problem)
		}
		var err error
		if data, err = c.content(ctx, base, inBase); err != nil {
			return nil, err
		}
	}
	if f.StoredSize() > 0 {
		own, _, err := c.s.store.Get(ctx, coord.FileKey(b.Folder, f.DataFile))
		if err != nil {
			return nil, err
		}
		data = append(data, own...)
	}
	return data, nil
}
