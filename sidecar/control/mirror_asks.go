package control

import (
	"context"
	"slices"
	"time"
)

// mirrorAsksEvery is how many polls apart the sidecar looks at the
// databases CLI runs asked it to mirror (one HEAD when none did): half a
// minute at the default poll_interval of 1 s.
const mirrorAsksEvery = 30

// mirrorAskedLoop hands mirrorLoop, through q, the configured databases a
// CLI run changed in the bucket (coord.MirrorAsks): the sidecar mirrors
// after its own requests, and a cron job's backups, cleanups, checks and
// verifies stayed out of clickvault.backups till the database's next
// request. The asks there at start are the start mirror's (mirrorAll),
// but for those of the last minute: the start mirror may have read their
// database before the run asked (and a run's clock may be off a little).
func (s *catalogMirror) mirrorAskedLoop(ctx context.Context, q *MirrorRequests, every time.Duration) error {
	etag := ""
	seen := map[string]time.Time{} // by database, the ask acted on
	recent := s.now().Add(-time.Minute)
	for read := false; ; {
		asks, got, err := s.claims.MirrorAsked(ctx, etag)
		switch {
		case err != nil && ctx.Err() == nil:
			s.logger.Warn("read the databases CLI runs asked to mirror", "err", err)
		case err == nil && got != etag:
			etag = got
			for db, at := range asks.Asks {
				if !slices.Contains(s.opts.Databases, db) || seen[db].Equal(at) {
					continue
				}
				seen[db] = at
				if read || at.After(recent) {
					q.addCatalog(db)
				}
			}
		}
		read = read || err == nil
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}
