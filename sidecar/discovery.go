package sidecar

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// catalogs reads what the bucket holds of a database's backups: the
// metadata, the catalog index, the manifests' sizes, and the catalog a
// writer plans from.
type catalogs struct {
	*engine
	backups *backups    // a writer's catalog settles the backups a crash left running
	legacy  *legacyMemo // the seed layout's folders, shared by every database's catalog
}

// metaReaders bounds concurrent metadata reads during discovery.
const metaReaders = 16

// Catalog discovers a database's backups in the bucket: its own folders and
// the seed tool's ({prefix}/full/…, whose metadata names the database). It
// reads the catalog index where it can be trusted (see index.go) and the
// metadata of everything else. Writers start from writerCatalog.
func (s *catalogs) Catalog(ctx context.Context, database string) (model.Catalog, error) {
	return s.catalog(ctx, database, true)
}

// scanCatalog reads every metadata object: what cleanup plans from, and a
// backup when the index cannot be trusted (see writerCatalog).
func (s *catalogs) scanCatalog(ctx context.Context, database string) (model.Catalog, error) {
	return s.catalog(ctx, database, false)
}

func (s *catalogs) catalog(ctx context.Context, database string, useIndex bool) (model.Catalog, error) {
	started := s.now()
	indexed := map[string]model.Backup{}
	var indexScanned time.Time
	var folders, legacy []discovered
	// The index, the two listings and the seed layout's folders are
	// independent requests: sent at once, they cost one round trip.
	g, gctx := errgroup.WithContext(ctx)
	if useIndex {
		g.Go(func() (err error) {
			indexed, indexScanned, err = s.readIndex(gctx, database)
			return err
		})
	}
	g.Go(func() (err error) {
		folders, err = s.listFolders(gctx, database)
		return err
	})
	g.Go(func() (err error) {
		// A full scan (!useIndex) lists the seed layout afresh too.
		legacy, err = s.legacy.get(gctx, !useIndex, s.now(), s.readLegacy)
		return err
	})
	if err := g.Wait(); err != nil {
		return model.Catalog{}, err
	}
	scanned := started
	for i, d := range folders {
		if b, ok := indexed[d.folder]; ok {
			folders[i].backup, folders[i].read = b, true
			scanned = indexScanned
		}
	}
	if err := s.readMetas(ctx, folders); err != nil {
		return model.Catalog{}, err
	}
	var backups []model.Backup
	var dataOnly []string
	var unreadable []model.Orphan
	for _, d := range append(folders, legacy...) {
		switch {
		case d.legacy && (d.missing || d.backup.Database != database):
			// The seed layout mixes databases: keep only this one's.
		case d.missing:
			dataOnly = append(dataOnly, d.folder)
		case d.err != nil:
			unreadable = append(unreadable, model.Orphan{Folder: d.folder, Reason: d.err.Error()})
		default:
			backups = append(backups, d.backup)
		}
	}
	cat := model.BuildCatalog(database, backups, dataOnly)
	cat.Orphans = append(cat.Orphans, unreadable...)
	cat.Scanned = scanned
	return cat, nil
}

// listFolders lists the backup folders of database, full then incremental.
func (s *catalogs) listFolders(ctx context.Context, database string) ([]discovered, error) {
	var roots []folderRoot
	for _, kind := range []model.Kind{model.KindFull, model.KindIncremental} {
		roots = append(roots, folderRoot{s.layout.KindRoot(database, string(kind)), fmt.Sprintf("%s backups of %s", kind, database), false})
	}
	return listRoots(ctx, s.store, roots)
}

// folderRoot is a prefix whose folders are backups.
type folderRoot struct {
	prefix, what string
	legacy       bool // the seed layout's, whose metadata says which database
}

// listRoots lists the folders under each root, all at once.
func listRoots(ctx context.Context, store coord.ObjectStore, roots []folderRoot) ([]discovered, error) {
	listed := make([][]discovered, len(roots))
	g, gctx := errgroup.WithContext(ctx)
	for i, r := range roots {
		g.Go(func() error {
			l, err := store.List(gctx, r.prefix, false)
			if err != nil {
				return fmt.Errorf("list %s: %w", r.what, err)
			}
			for _, f := range l.Folders {
				if _, err := model.ParseName(coord.FolderName(f)); r.legacy && err != nil {
					continue // a database named "full" in the seed layout's root
				}
				listed[i] = append(listed[i], discovered{folder: f, legacy: r.legacy})
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var folders []discovered
	for _, l := range listed {
		folders = append(folders, l...)
	}
	return folders, nil
}

type discovered struct {
	folder  string
	legacy  bool
	backup  model.Backup
	read    bool  // its backup is known (the catalog index, the seed layout's memo): no metadata read needed
	missing bool  // no metadata object
	err     error // metadata that cannot be read
}

func (s *catalogs) readMetas(ctx context.Context, folders []discovered) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(metaReaders)
	var mu sync.Mutex
	for i := range folders {
		if folders[i].read {
			continue
		}
		g.Go(func() error {
			b, err := s.readBackup(gctx, folders[i].folder)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrNotFound):
				folders[i].missing = true
			case errors.Is(err, model.ErrBadMeta):
				folders[i].err = err
			case err != nil:
				return err
			}
			b.Legacy = folders[i].legacy
			folders[i].backup = b
			return nil
		})
	}
	return g.Wait()
}
