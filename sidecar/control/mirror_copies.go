package control

import (
	"context"
	"slices"
	"sync"
)

// copiesHeld reads, per backup of database, the [[copy]] targets that hold
// a completed copy of it: each target's own catalog, as a restore from it
// reads it. ok is false when a target could not be read: the rows then
// keep the copies they had.
func (s *catalogMirror) copiesHeld(ctx context.Context, database string) (held map[string][]string, ok bool) {
	held = map[string][]string{}
	if s.opts.Sources == nil {
		return held, true
	}
	ok = true
	for _, name := range s.opts.Sources.Copies() {
		svc, err := s.opts.Sources.Copy(ctx, name)
		if err == nil {
			cat, cerr := svc.Catalog(ctx, database)
			for _, b := range cat.All() {
				if b.Completed() {
					held[b.Name] = append(held[b.Name], name)
				}
			}
			err = cerr
		}
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Warn("read a copy target's catalog; the backups table keeps the copies it had",
					"database", database, "copy", name, "err", err)
			}
			ok = false
		}
	}
	for _, names := range held {
		slices.Sort(names)
	}
	return held, ok
}

// MirrorRequests are the databases whose backups table should be brought
// in step with S3 soon, off the asker's goroutine: a copy round that
// changed what the targets hold asks (Copies.OnChange), the runner
// mirrors. A set, so a burst of asks mirrors once per database, bounded by
// the databases there are.
type MirrorRequests struct {
	mu      sync.Mutex
	waiting []string
	signal  chan struct{}
}

// NewMirrorRequests returns an empty set of asks.
func NewMirrorRequests() *MirrorRequests { return &MirrorRequests{signal: make(chan struct{}, 1)} }

// Add asks for a mirror of database; it never blocks.
func (q *MirrorRequests) Add(database string) {
	q.mu.Lock()
	if !slices.Contains(q.waiting, database) && len(q.waiting) < maxCopiedDatabases {
		q.waiting = append(q.waiting, database)
	}
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take returns the databases asked for and forgets them.
func (q *MirrorRequests) take() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.waiting
	q.waiting = nil
	return out
}

// mirrorLoop mirrors the databases asked for in q, until ctx ends.
func (s *catalogMirror) mirrorLoop(ctx context.Context, q *MirrorRequests) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-q.signal:
		}
		for _, db := range q.take() {
			s.mirror(ctx, db)
		}
	}
}
