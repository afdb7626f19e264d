package sidecar

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/clickvault/clickvault/sidecar/model"
)

// legacyFresh is how long one listing of the seed layout stands for every
// database's catalog. The seed tool's folders ({prefix}/full/…,
// {prefix}/incremental/…) mix all databases, so each database's catalog
// listed both roots and read every folder's metadata to find its own: a
// round of a thousand databases paid that a thousand times for the same
// answer. ClickVault never writes there; a seed-layout backup written or
// deleted by another process meanwhile shows a minute late, and a full
// scan (cleanup, a writer whose index disagrees with a base) lists afresh.
const legacyFresh = time.Minute

// legacyMemo keeps the seed layout's folders, with their metadata read.
type legacyMemo struct {
	mu      sync.Mutex
	folders []discovered
	read    time.Time
}

// get is the seed layout's folders, each with its backup read (or why
// not): read again (read) when fresh or when the memo is legacyFresh old
// at now. Catalogs read at once share one read.
func (m *legacyMemo) get(ctx context.Context, fresh bool, now time.Time, read func(context.Context) ([]discovered, error)) ([]discovered, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !fresh && !m.read.IsZero() && now.Sub(m.read) < legacyFresh {
		return slices.Clone(m.folders), nil
	}
	folders, err := read(ctx)
	if err != nil {
		return nil, err
	}
	m.folders, m.read = folders, now
	return slices.Clone(folders), nil
}

// readLegacy lists the seed layout's two roots and reads the metadata of
// each folder (legacyMemo.get).
func (s *catalogs) readLegacy(ctx context.Context) ([]discovered, error) {
	var roots []folderRoot
	for _, kind := range []model.Kind{model.KindFull, model.KindIncremental} {
		roots = append(roots, folderRoot{s.layout.LegacyKindRoot(string(kind)), fmt.Sprintf("seed-layout %s backups", kind), true})
	}
	folders, err := listRoots(ctx, s.store, roots)
	if err != nil {
		return nil, err
	}
	if err := s.readMetas(ctx, folders); err != nil {
		return nil, err
	}
	for i := range folders {
		folders[i].read = true
	}
	return folders, nil
}

// forget drops the memo: the seed layout changed (cleanup deleted a
// backup of it).
func (m *legacyMemo) forget() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.folders, m.read = nil, time.Time{}
}
