package sidecar

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/model"
)

// partReaders bounds the count.txt objects read at once.
const partReaders = 16

// partRows sums, per table, the physical rows of the backup's parts: each
// part's count.txt, found through ClickHouse's manifest (in this backup or,
// for a part an incremental shares, in the base that holds it).
func (s *catalogs) partRows(ctx context.Context, cat model.Catalog, b model.Backup) (map[string]uint64, error) {
	return newChecker(s.engine, cat).sumCounts(ctx, b, func(name string) (string, bool) { return model.CountFile(name, b.Database) })
}

// partitionRows sums the physical rows of one table's parts in the backup
// per partition id (the part name up to its first _).
func (s *catalogs) partitionRows(ctx context.Context, cat model.Catalog, b model.Backup, table string) (map[string]uint64, error) {
	return newChecker(s.engine, cat).sumCounts(ctx, b, func(name string) (string, bool) {
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
func (c *checker) sumCounts(ctx context.Context, b model.Backup, keyOf func(name string) (string, bool)) (map[string]uint64, error) {
	m := c.manifest(ctx, b)
	if m.problem != "" {
		return nil, fmt.Errorf("read the parts of backup %s: %s", b.Name, m.problem)
	}
	var files []model.ManifestFile
	var keys []string
	for _, f := range m.all {
		if key, ok := keyOf(f.Name); ok {
			files, keys = append(files, f), append(keys, key)
		}
	}
	objects, err := c.objectsOf(ctx, b, files)
	if err != nil {
		return nil, fmt.Errorf("read the parts of backup %s: %w", b.Name, err)
	}
	out := map[string]uint64{}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(partReaders)
	for i, f := range files {
		g.Go(func() error {
			data, err := c.readObjects(gctx, objects[i])
			if err != nil {
				return fmt.Errorf("read %s of backup %s: %w", f.Name, b.Name, err)
			}
			n, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
			if err != nil {
				return fmt.Errorf("read %s of backup %s: not a row count: %q", f.Name, b.Name, data)
			}
			mu.Lock()
			out[keys[i]] += n
			mu.Unlock()
			return nil
		})
	}
	return out, g.Wait()
}
