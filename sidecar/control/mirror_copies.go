package control

import (
	"context"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/model"
)

// heldCopies are, per backup, the [[copy]] targets holding a completed
// copy of it, as their catalogs said; unread are the targets whose catalog
// could not be read.
type heldCopies struct {
	byBackup map[string][]string
	unread   []string
}

// of is the copies of backup: as read, with what was said before of a
// target that could not be read (all that was said before, when h is nil:
// nothing was read).
func (h *heldCopies) of(backup string, before []string) []string {
	if h == nil {
		return before
	}
	out := slices.Clone(h.byBackup[backup])
	for _, t := range before {
		if slices.Contains(h.unread, t) && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// copiesHeld reads, per backup of database, the [[copy]] targets that hold
// a completed copy of it: each target's own catalog, as a restore from it
// reads it.
func (s *catalogMirror) copiesHeld(ctx context.Context, database string) heldCopies {
	h := heldCopies{byBackup: map[string][]string{}}
	if s.opts.CopyReaders == nil {
		return h
	}
	for _, name := range s.opts.CopyReaders.Copies() {
		svc, err := s.opts.CopyReaders.Copy(ctx, name)
		if err == nil {
			var cat model.Catalog
			cat, err = svc.Catalog(ctx, database)
			for _, b := range cat.All() {
				if b.Completed() {
					h.byBackup[b.Name] = append(h.byBackup[b.Name], name)
				}
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Warn("read a copy target's catalog; the backups table keeps what it said of that target",
					"database", database, "copy", name, "err", err)
			}
			h.unread = append(h.unread, name)
		}
	}
	return h
}

// MirrorRequests are the databases whose backups table should be brought
// in step with S3 soon, off the asker's goroutine: a copy round that
// changed what the targets hold asks, copies included (Copies.OnChange,
// Add), and so do CLI runs through the bucket, their catalogs alone
// (mirrorAskedLoop, addCatalog: a thousand databases' copy targets read
// first held up every mirror); the runner mirrors. A set, so a burst of
// asks mirrors once per database, bounded by maxMirrorsWaiting.
type MirrorRequests struct {
	mu      sync.Mutex
	waiting map[string]bool // by database: whether its copies are to be read
	signal  chan struct{}
}

// maxMirrorsWaiting bounds the databases waiting for a mirror: the
// configured ones and those copy rounds remember are far fewer.
const maxMirrorsWaiting = 10_000

// NewMirrorRequests returns an empty set of asks.
func NewMirrorRequests() *MirrorRequests {
	return &MirrorRequests{signal: make(chan struct{}, 1), waiting: map[string]bool{}}
}

// Add asks for a mirror of database, its copies read; it never blocks.
func (q *MirrorRequests) Add(database string) { q.add(database, true) }

// addCatalog asks for a mirror of database's catalog, the copies rows
// name kept as they are.
func (q *MirrorRequests) addCatalog(database string) { q.add(database, false) }

func (q *MirrorRequests) add(database string, copies bool) {
	q.mu.Lock()
	if _, ok := q.waiting[database]; ok || len(q.waiting) < maxMirrorsWaiting {
		q.waiting[database] = q.waiting[database] || copies
	}
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take returns the databases asked for, and whether each one's copies are
// to be read, and forgets them.
func (q *MirrorRequests) take() map[string]bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.waiting
	q.waiting = map[string]bool{}
	return out
}

// mirrorLoop mirrors the databases asked for in q until ctx ends,
// databasesAtOnce at a time, copies included where asked. A database this
// sidecar is working on (turnOf's turn is taken) is tried again a second
// later rather than waited for, so one long backup holds up no other
// database's mirror, and a mirror never writes what it read before a
// cleanup after that cleanup's own mirror.
func (s *catalogMirror) mirrorLoop(ctx context.Context, q *MirrorRequests, turnOf func(database string) *sync.Mutex) error {
	var mu sync.Mutex
	busy := map[string]*heldCopies{} // waiting for their database; nil: the rows keep their copies
	asked := map[string]uint64{}     // of those with nil: the mirrors begun when asked
	for {
		var again <-chan time.Time
		if len(busy) > 0 {
			again = time.After(mirrorRetryAfter)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-q.signal:
		case <-again:
		}
		var g errgroup.Group
		g.SetLimit(databasesAtOnce)
		for db, withCopies := range q.take() {
			if !withCopies {
				mu.Lock()
				if _, had := busy[db]; !had {
					busy[db], asked[db] = nil, s.mirrorSeq()
				}
				mu.Unlock()
				continue
			}
			g.Go(func() error {
				copies := s.copiesHeld(ctx, db) // outside the turn: a slow target holds up no request
				mu.Lock()
				busy[db] = &copies
				mu.Unlock()
				return nil
			})
		}
		_ = g.Wait()
		var mirrored []string
		for db, copies := range busy {
			turn := turnOf(db)
			if !turn.TryLock() {
				continue
			}
			mirrored = append(mirrored, db)
			if copies == nil && s.mirroredSince(db, asked[db]) {
				turn.Unlock() // the catalog was mirrored since the ask
				continue
			}
			g.Go(func() error {
				defer turn.Unlock()
				s.mirrorWith(ctx, db, copies, nil)
				return nil
			})
		}
		_ = g.Wait()
		for _, db := range mirrored {
			delete(busy, db)
			delete(asked, db)
		}
	}
}

// mirrorRetryAfter is how soon a mirror passed over for a busy database is
// tried again.
const mirrorRetryAfter = time.Second
