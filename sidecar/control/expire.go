package control

import (
	"context"
	"time"
)

// Rows of clickvault.backups and sets that say deleted are removed, every
// row of their key, once they are the requests' retention old: at
// expireAfterStart after the start, then every expireEvery. Each sidecar
// on a control table does it; a second removal finds nothing.
const (
	expireAfterStart = time.Minute
	expireEvery      = 6 * time.Hour
)

// expireLoop removes the deleted rows that are past the retention, first
// after first, then every every, until ctx ends; a failure is logged and
// tried again at the next turn.
func expireLoop(ctx context.Context, b *base, first, every time.Duration) error {
	wait := first
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = every
		if err := b.cp.ExpireDeleted(ctx, b.now().Add(-b.opts.RequestRetention)); err != nil && ctx.Err() == nil {
			b.logger.Warn("remove the rows of backups and sets deleted past the retention; will retry", "in", expireEvery, "err", err)
		}
	}
}
