package sidecar

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// The catalog index (coord.Layout.IndexKey) holds the
// metadata of every backup of a database, so that reading the catalog costs
// a few LISTs and one GET instead of one GET per backup.
//
// Only a lease holder writes it, and it is only a cache of the metadata
// objects, which stay the truth:
//   - an entry is trusted only for a folder that is still listed and whose
//     entry is final (completed or failed); anything else — a folder
//     missing from the index, a running or deleting entry — is read from its
//     metadata;
//   - the only change to a final backup is its deletion, and cleanup marks
//     the entries DELETING in the index before it touches their metadata;
//   - a backup plans from the index too, but re-reads its base's metadata
//     before using it, and falls back to a full scan if they disagree (see
//     writer_catalog.go); cleanup, and any writer whose index was last
//     checked against every metadata object over a day ago, scans fully.

type catalogIndex struct {
	Version  int          `json:"version"`
	Database string       `json:"database"`
	Written  time.Time    `json:"written"`
	Scanned  time.Time    `json:"scanned,omitempty"` // the last full metadata scan behind it
	Backups  []indexEntry `json:"backups"`
}

type indexEntry struct {
	Folder string     `json:"folder"`
	Meta   model.Meta `json:"meta"`
}

// trusted reports whether an index entry may stand for its metadata.
func (e indexEntry) trusted() bool {
	return e.Meta.Status == model.StatusCreated || e.Meta.Status == model.StatusFailed
}

// readIndex returns the index's trusted entries by folder and when it was
// last checked against every metadata object; a missing or unreadable
// index is an empty one.
func (s *catalogs) readIndex(ctx context.Context, database string) (map[string]model.Backup, time.Time, error) {
	var idx catalogIndex
	err := s.bucket.ReadIndex(ctx, database, &idx)
	if errors.Is(err, ErrNotFound) {
		return map[string]model.Backup{}, time.Time{}, nil
	}
	if err != nil && !errors.Is(err, coord.ErrUnreadable) {
		return nil, time.Time{}, fmt.Errorf("read the catalog index of %s: %w", database, err)
	}
	if err != nil || idx.Database != database {
		s.logger.Warn("ignoring an unreadable catalog index", "database", database, "err", err)
		return map[string]model.Backup{}, time.Time{}, nil
	}
	out := make(map[string]model.Backup, len(idx.Backups))
	for _, e := range idx.Backups {
		if e.trusted() {
			out[e.Folder] = model.Backup{Meta: e.Meta, Folder: e.Folder}
		}
	}
	return out, idx.Scanned, nil
}

// writeIndex replaces the index with backups (the seed's are left out: they
// live outside the database's folder); scanned is when the catalog they
// come from was last checked against every metadata object. A lease holder
// calls it; a failure is logged, as readers fall back to the metadata. It
// returns the index's new ETag ("" when it was not written).
func (s *catalogs) writeIndex(ctx context.Context, database string, backups []model.Backup, scanned time.Time) string {
	idx := catalogIndex{Version: 1, Database: database, Written: s.now().UTC(), Scanned: scanned.UTC()}
	for _, b := range backups {
		if !b.Legacy {
			idx.Backups = append(idx.Backups, indexEntry{Folder: b.Folder, Meta: b.Meta})
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	etag, err := s.bucket.WriteIndex(ctx, database, idx)
	if err != nil {
		s.logger.Warn("write the catalog index; readers will read the metadata", "database", database, "err", err)
	}
	return etag
}

// WrittenCatalog is a database's catalog as a backup left it, with the
// ETag of the index it wrote (sidecar.BackupRequest.Indexed).
type WrittenCatalog struct {
	model.Catalog
	indexETag string
	catalogs  *catalogs
}

// Current is the database's catalog now, and whether it is the written
// one (not read): the written one while the index is still the one its
// backup wrote (one HEAD of the index), as every writer that ended takes
// the lease and rewrites the index; else (another sidecar's backup or the
// CLI's cleanup came since, or the backup's own index write failed) the
// catalog read afresh. A writer still at work (a backup running, whose
// index is written at its end) or whose own index write failed is not
// seen in the written one: it holds what it says, not all there is.
func (w WrittenCatalog) Current(ctx context.Context) (model.Catalog, bool, error) {
	if w.indexETag != "" {
		etag, err := w.catalogs.bucket.IndexETag(ctx, w.Database)
		if err != nil {
			return model.Catalog{}, false, err
		}
		if etag == w.indexETag {
			return w.Catalog, true, nil
		}
	}
	cat, err := w.catalogs.Catalog(ctx, w.Database)
	return cat, false, err
}
