package control

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// heartbeatLoop keeps this sidecar's heartbeat object fresh, and looks at
// which other sidecars are alive (coord.Claims: a request's claim is taken
// over only from a sidecar whose heartbeat expired; rejections are shared
// among the live ones, ownsRejection). The two go on side by side, each
// call bounded by a beat: a listing that is slow (many heartbeat objects,
// a slow S3) must not delay the beats until the heartbeat expires, when
// other sidecars would take this live one's requests over.
func (s *rejecter) heartbeatLoop(ctx context.Context) error {
	var g errgroup.Group
	beaten := make(chan struct{}) // closed after the first beat: the first list then holds this sidecar
	g.Go(func() error {
		var once sync.Once
		everyBeat(ctx, func(ctx context.Context) {
			if err := s.claims.Beat(ctx); err != nil && ctx.Err() == nil {
				s.logger.Warn("write heartbeat; will retry", "err", err)
			}
			once.Do(func() { close(beaten) })
		})
		return nil
	})
	g.Go(func() error {
		select {
		case <-beaten:
		case <-ctx.Done():
			return nil
		}
		everyBeat(ctx, func(ctx context.Context) {
			live, err := s.claims.LiveSidecars(ctx)
			if err != nil {
				s.logger.Warn("list live sidecars; will retry", "err", err)
				return // the last list stands: a partial one would wrongly share rejections
			}
			s.mu.Lock()
			s.live = live
			s.mu.Unlock()
		})
		return nil
	})
	return g.Wait()
}

// everyBeat calls f at once and then every coord.HeartbeatEvery, each
// call under a context that ends a beat later, until ctx ends.
func everyBeat(ctx context.Context, f func(context.Context)) {
	tick := time.NewTicker(coord.HeartbeatEvery)
	defer tick.Stop()
	for {
		callCtx, cancel := context.WithTimeout(ctx, coord.HeartbeatEvery)
		f(callCtx)
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
