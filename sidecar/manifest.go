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

// manifestFacts reads a completed backup's manifest, of size bytes, for
// the sizes of its tables and the summary of the objects its folder holds
// (model.ObjectSummary); nil for both (and a log line) when it is too big
// or cannot be read.
func (s *catalogs) manifestFacts(ctx context.Context, b model.Backup, size int64) (map[string]uint64, *model.ObjectSummary) {
	if size > model.MaxManifestRead {
		s.logger.Info("manifest too big to read for the sizes of the tables", "backup", b.Name, "bytes", size)
		return nil, nil
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
