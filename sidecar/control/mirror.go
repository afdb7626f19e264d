package control

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/model"
)

// catalogMirror keeps the backups table (and on a cluster node the sets
// table) in step with S3.
type catalogMirror struct {
	*base
	// setsMu makes one mirror of the sets at a time: the minute's mirror
	// and a request's, each reading before it writes, would otherwise let
	// the one that read first write an older state over the newer.
	setsMu sync.Mutex
	// written holds, by request, the catalog a backup left in S3
	// (sidecar.BackupRequest.Indexed) for the mirror after its answer,
	// which then reads no catalog of its own: taken once, by that
	// request's handle, so none outlives its request.
	writtenMu sync.Mutex
	written   map[string]model.Catalog
}

// keepWritten holds the catalog a backup of request id wrote for the
// mirror after its answer (takeWritten).
func (s *catalogMirror) keepWritten(id string, cat model.Catalog) {
	s.writtenMu.Lock()
	defer s.writtenMu.Unlock()
	if s.written == nil {
		s.written = map[string]model.Catalog{}
	}
	s.written[id] = cat
}

// takeWritten returns and forgets the catalog request id's backup wrote
// (nil: it wrote none).
func (s *catalogMirror) takeWritten(id string) *model.Catalog {
	s.writtenMu.Lock()
	defer s.writtenMu.Unlock()
	cat, ok := s.written[id]
	if !ok {
		return nil
	}
	delete(s.written, id)
	return &cat
}

// mirrorAll brings the backups table in step with S3 for every configured
// database, once at start, copies included, mirrorsAtOnce databases at a
// time (a thousand one after the other took half a minute; ClickHouse
// reads the rows of those at once in one query).
func (s *catalogMirror) mirrorAll(ctx context.Context) {
	var g errgroup.Group
	g.SetLimit(mirrorsAtOnce)
	for _, db := range s.opts.Databases {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			copies := s.copiesHeld(ctx, db)
			s.mirrorWith(ctx, db, &copies)
			s.mirrorSetsOf(ctx, db, false)
			return nil // a database's failure is logged; the others go on
		})
	}
	_ = g.Wait()
}

// mirrorsAtOnce bounds the databases mirrorAll works on at once.
const mirrorsAtOnce = 4

// mirror writes the rows of the backups table that differ from S3's
// metadata, and marks deleted the backups that are gone from S3. S3 is the
// truth; the table is a view of it for SQL users. The copies a row names
// are kept as they were: reading every copy target's catalog is left to
// the mirrors a copy round asks for (mirrorLoop), so an unreachable target
// never slows a request's answer.
func (s *catalogMirror) mirror(ctx context.Context, database string) {
	s.mirrorWith(ctx, database, nil)
}

// mirrorAfterBackup mirrors database after a backup's answer from
// written, the catalog the backup wrote under its lease (what a read of S3
// would return now; takeWritten), where mirror would read it again: three
// S3 requests fewer for every backup. Without it (nil: the backup failed
// before it wrote the index, or was adopted) the catalog is read. The
// check results are read either way, as a check writes them without the
// lease.
func (s *catalogMirror) mirrorAfterBackup(ctx context.Context, database string, written *model.Catalog) {
	if err := s.mirrorOnce(ctx, database, nil, written); err != nil && ctx.Err() == nil {
		s.logger.Warn("mirror the catalog into the backups table", "database", database, "err", err)
	}
}

// mirrorWith mirrors database, with the copies read (nil: the rows keep
// theirs).
func (s *catalogMirror) mirrorWith(ctx context.Context, database string, copies *heldCopies) {
	if err := s.mirrorOnce(ctx, database, copies, nil); err != nil && ctx.Err() == nil {
		s.logger.Warn("mirror the catalog into the backups table", "database", database, "err", err)
	}
}

// mirrorBackup writes the row of one backup that just ended, so its
// request can be answered without waiting for a full mirror.
func (s *catalogMirror) mirrorBackup(ctx context.Context, b model.Backup) {
	if b.Name == "" {
		return
	}
	if err := s.cp.WriteCatalog(ctx, []CatalogRow{s.catalogRow(b)}); err != nil && ctx.Err() == nil {
		s.logger.Warn("write the backup's row of the backups table", "backup", b.Name, "err", err)
	}
}

// mirrorOnce mirrors database from known, or from its catalog read from S3
// when known is nil.
func (s *catalogMirror) mirrorOnce(ctx context.Context, database string, copies *heldCopies, known *model.Catalog) error {
	cat, err := s.catalogOf(ctx, database, known)
	if err != nil {
		return err
	}
	current, err := s.cp.CatalogRows(ctx, database)
	if err != nil {
		return err
	}
	results, err := s.svc.Results(ctx, database)
	checks, verifies := results.Checks, results.Verifies
	if err != nil {
		s.logger.Warn("read check results; the catalog keeps the old ones", "database", database, "err", err)
	}
	have := map[string]CatalogRow{}
	for _, r := range current {
		have[r.Name] = r
	}
	var changed []CatalogRow
	inS3 := map[string]bool{}
	for _, b := range cat.All() {
		row := s.catalogRow(b)
		if c, ok := checks[b.Name]; ok {
			at := c.CheckedAt
			row.CheckedAt, row.CheckVerdict, row.CheckProblem = &at, c.Verdict, c.Problem
		} else if old, ok := have[b.Name]; ok && err != nil {
			row.CheckedAt, row.CheckVerdict, row.CheckProblem = old.CheckedAt, old.CheckVerdict, old.CheckProblem
		}
		if v, ok := verifies[b.Name]; ok {
			at := v.VerifiedAt
			row.VerifiedAt, row.VerifyVerdict, row.VerifyRestoreSec = &at, v.Verdict, v.RestoreSeconds
		} else if old, ok := have[b.Name]; ok && err != nil {
			row.VerifiedAt, row.VerifyVerdict, row.VerifyRestoreSec = old.VerifiedAt, old.VerifyVerdict, old.VerifyRestoreSec
		}
		row.Copies = copies.of(b.Name, have[b.Name].Copies)
		inS3[b.Name] = true
		if old, ok := have[b.Name]; !ok || !sameRow(old, row) {
			changed = append(changed, row)
		}
	}
	for _, old := range current {
		if !inS3[old.Name] && old.Status != model.CatalogDeleted {
			old.Status = model.CatalogDeleted
			changed = append(changed, old)
		}
	}
	if len(changed) > 0 {
		if err := s.cp.WriteCatalog(ctx, changed); err != nil {
			return err
		}
	}
	if chain, ok := cat.NewestCompletedChain(); ok {
		s.obs.ChainDepth(database, chain.Depth())
	}
	if newest, ok := cat.NewestCompleted(time.Time{}); ok {
		s.obs.NewestBackup(database, newest.Time())
	}
	return nil
}

// catalogOf is known, or database's catalog read from S3 when known is nil.
func (s *catalogMirror) catalogOf(ctx context.Context, database string, known *model.Catalog) (model.Catalog, error) {
	if known != nil {
		return *known, nil
	}
	return s.svc.Catalog(ctx, database)
}

func (s *catalogMirror) catalogRow(b model.Backup) CatalogRow {
	return CatalogRow{Database: b.Database, Name: b.Name, Kind: string(b.Kind), Chain: b.Chain, Base: b.Base,
		Location: s.svc.Location(b.Folder), Status: b.CatalogStatus(), BackupID: b.BackupID,
		StartedAt: b.StartedAt, FinishedAt: b.FinishedAt, NumFiles: b.NumFiles, StoredBytes: b.StoredBytes(),
		TotalSize: b.TotalSize, UncompressedSize: b.UncompressedSize, CompressedSize: b.CompressedSize, Error: b.Error,
		KindReason: b.KindReason, FullForced: b.FullForced,
		TableSet: b.TableSet.String(), Tables: b.Tables, TableBytes: b.TableBytes}
}

func sameRow(a, b CatalogRow) bool {
	return a.Status == b.Status && a.Chain == b.Chain && a.Base == b.Base && a.NumFiles == b.NumFiles &&
		a.TotalSize == b.TotalSize && a.StoredBytes == b.StoredBytes && a.KindReason == b.KindReason &&
		a.FullForced == b.FullForced && a.Error == b.Error && a.Location == b.Location && sameTime(a.FinishedAt, b.FinishedAt) &&
		a.TableSet == b.TableSet && maps.Equal(a.Tables, b.Tables) && maps.Equal(a.TableBytes, b.TableBytes) &&
		a.CheckVerdict == b.CheckVerdict && a.CheckProblem == b.CheckProblem && sameTime(a.CheckedAt, b.CheckedAt) &&
		a.VerifyVerdict == b.VerifyVerdict && a.VerifyRestoreSec == b.VerifyRestoreSec && sameTime(a.VerifiedAt, b.VerifiedAt) &&
		slices.Equal(a.Copies, b.Copies)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
}
