package control

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar"
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

	// seqMu guards seq, the number of mirrors begun, and good, by
	// database, the number its last mirror that succeeded began at: a
	// mirror asked for is passed over when one began after the ask and
	// succeeded (the request that held the database's turn mirrored it).
	seqMu sync.Mutex
	seq   uint64
	good  map[string]uint64
}

// mirrorAll brings the backups table in step with S3 for every configured
// database, once at start, copies included, databasesAtOnce at a time (a
// thousand one after the other took half a minute; ClickHouse reads the
// rows of those at once in one query). Each under its database's turn
// (turnOf), as mirrorLoop: a database a request works on meanwhile is
// handed to mirrorLoop (queue), which mirrors it once the turn is free.
// Run beside the requests, a mirror that read S3 before a cleanup and
// wrote after the cleanup's own mirror put the deleted backups back as
// completed.
func (s *catalogMirror) mirrorAll(ctx context.Context, turnOf func(database string) *sync.Mutex, queue *MirrorRequests) {
	var g errgroup.Group
	g.SetLimit(databasesAtOnce)
	for _, db := range s.opts.Databases {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			copies := s.copiesHeld(ctx, db) // outside the turn: a slow target holds up no request
			if turn := turnOf(db); turn.TryLock() {
				s.mirrorWith(ctx, db, &copies, nil)
				turn.Unlock()
			} else if queue != nil {
				// Without copy targets, passed over when the request
				// holding it mirrors it.
				queue.add(db, s.opts.CopyReaders != nil)
			}
			s.mirrorSetsOf(ctx, db, false)
			return nil // a database's failure is logged; the others go on
		})
	}
	_ = g.Wait()
}

// mirror writes the rows of the backups table that differ from S3's
// metadata, and marks deleted the backups that are gone from S3. S3 is the
// truth; the table is a view of it for SQL users. The copies a row names
// are kept as they were: reading every copy target's catalog is left to
// the mirrors a copy round asks for (mirrorLoop), so an unreachable target
// never slows a request's answer.
func (s *catalogMirror) mirror(ctx context.Context, database string) {
	s.mirrorWith(ctx, database, nil, nil)
}

// mirrorWith mirrors database, with the copies read (nil: the rows keep
// theirs). After a backup's answer, written is the catalog the backup
// wrote (BackupRequest.Indexed), taken for S3's while the index is still
// the one it wrote (WrittenCatalog.Current: one HEAD where a read is two
// LISTs and a GET); nil: read the catalog. The check results are read
// either way, as a check writes them without the lease.
func (s *catalogMirror) mirrorWith(ctx context.Context, database string, copies *heldCopies, written *sidecar.WrittenCatalog) {
	began := s.mirrorSeq()
	err := s.mirrorOnce(ctx, database, copies, written)
	if err != nil && ctx.Err() == nil {
		s.logger.Warn("mirror the catalog into the backups table", "database", database, "err", err)
	}
	if err == nil {
		s.seqMu.Lock()
		if s.good == nil {
			s.good = map[string]uint64{}
		}
		s.good[database] = began
		s.seqMu.Unlock()
	}
}

// mirrorSeq begins a mirror: its number.
func (s *catalogMirror) mirrorSeq() uint64 {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	s.seq++
	return s.seq
}

// mirroredSince reports whether a mirror of database begun after mirror
// number after succeeded.
func (s *catalogMirror) mirroredSince(database string, after uint64) bool {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	return s.good[database] > after
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

func (s *catalogMirror) mirrorOnce(ctx context.Context, database string, copies *heldCopies, written *sidecar.WrittenCatalog) error {
	var cat model.Catalog
	var err error
	partial := false // the written catalog: it may lack another writer's work
	if written != nil {
		cat, partial, err = written.Current(ctx)
	} else {
		cat, err = s.svc.Catalog(ctx, database)
	}
	if err != nil {
		return err
	}
	current, err := s.cp.CatalogRows(ctx, database)
	if err != nil {
		return err
	}
	results, resultsErr := s.svc.Results(ctx, database)
	if resultsErr != nil {
		s.logger.Warn("read check results; the catalog keeps the old ones", "database", database, "err", resultsErr)
	}
	changed, gone := s.rowsChanged(cat, current, results, resultsErr, copies)
	if partial && gone > 0 {
		// The table has a backup the written catalog lacks: another
		// sidecar's backup still running (its index comes at its end), or a
		// deletion that did not rewrite the index (by hand, a lifecycle
		// rule). Only a read of S3 tells which.
		if cat, err = s.svc.Catalog(ctx, database); err != nil {
			return err
		}
		changed, _ = s.rowsChanged(cat, current, results, resultsErr, copies)
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

// rowsChanged is the rows of the backups table that differ from cat (with
// the check results, or the table's own when they could not be read, and
// the copies, or the table's own when nil), and how many of them mark a
// backup gone from cat deleted.
func (s *catalogMirror) rowsChanged(cat model.Catalog, current []CatalogRow, results model.Results, resultsErr error,
	copies *heldCopies) (changed []CatalogRow, gone int) {
	have := map[string]CatalogRow{}
	for _, r := range current {
		have[r.Name] = r
	}
	inS3 := map[string]bool{}
	for _, b := range cat.All() {
		row := s.catalogRow(b)
		old, had := have[b.Name]
		if c, ok := results.Checks[b.Name]; ok {
			at := c.CheckedAt
			row.CheckedAt, row.CheckVerdict, row.CheckProblem = &at, c.Verdict, c.Problem
		} else if had && resultsErr != nil {
			row.CheckedAt, row.CheckVerdict, row.CheckProblem = old.CheckedAt, old.CheckVerdict, old.CheckProblem
		}
		if v, ok := results.Verifies[b.Name]; ok {
			at := v.VerifiedAt
			row.VerifiedAt, row.VerifyVerdict, row.VerifyRestoreSec = &at, v.Verdict, v.RestoreSeconds
		} else if had && resultsErr != nil {
			row.VerifiedAt, row.VerifyVerdict, row.VerifyRestoreSec = old.VerifiedAt, old.VerifyVerdict, old.VerifyRestoreSec
		}
		row.Copies = copies.of(b.Name, old.Copies)
		inS3[b.Name] = true
		if !had || !sameRow(old, row) {
			changed = append(changed, row)
		}
	}
	for _, old := range current {
		if !inS3[old.Name] && old.Status != model.CatalogDeleted {
			old.Status = model.CatalogDeleted
			changed = append(changed, old)
			gone++
		}
	}
	return changed, gone
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
