package sidecar

import (
	"context"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// objectSize lists key: whether it exists, and its size.
func (s *catalogs) objectSize(ctx context.Context, key string) (int64, bool, error) {
	l, err := s.store.List(ctx, key, false)
	if err != nil {
		return 0, false, err
	}
	for _, o := range l.Objects {
		if o.Key == key {
			return o.Size, true, nil
		}
	}
	return 0, false, nil
}

// maxManifestRead is model.MaxManifestRead; a test lowers it.
var maxManifestRead int64 = model.MaxManifestRead

// manifestFacts reads a completed backup's manifest, of size bytes, for
// the sizes of its tables and the summary of the objects its folder holds
// (model.ObjectSummary); nil for both (and a log line) when it cannot be
// read. A manifest too big to read (a database of millions of files) gives
// no sizes, and the summary of the folder as listed now, just after
// ClickHouse wrote it: so the check before each later incremental still
// confirms this backup by a LIST instead of reading the big manifest.
func (s *catalogs) manifestFacts(ctx context.Context, b model.Backup, size int64) (map[string]uint64, *model.ObjectSummary) {
	if size > maxManifestRead {
		s.logger.Info("manifest too big to read for the sizes of the tables", "backup", b.Name, "bytes", size)
		l, err := s.store.List(ctx, b.Folder, true)
		if err != nil {
			s.logger.Warn("list the backup for the summary of its objects", "backup", b.Name, "err", err)
			return nil, nil
		}
		sum := model.SummarizeObjects(folderObjects(b.Folder, l.Objects))
		return nil, &sum
	}
	data, _, err := s.store.Get(ctx, coord.BackupFileKey(b.Folder))
	if err == nil {
		var m model.Manifest
		if m, err = model.ParseManifest(data); err == nil {
			sum := model.SummarizeObjects(m.Objects(uint64(len(data))))
			return m.TableBytes(b.Database), &sum
		}
	}
	s.logger.Warn("read the sizes of the backup's tables; the catalog shows none", "backup", b.Name, "err", err)
	return nil, nil
}
