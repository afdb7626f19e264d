package control

import (
	"context"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// heartbeatLoop keeps this sidecar's heartbeat object fresh, and looks at
// which other sidecars are alive (coord.Claims: a request's claim is taken
// over only from a sidecar whose heartbeat expired; rejections are shared
// among the live ones, ownsRejection).
func (s *rejecter) heartbeatLoop(ctx context.Context) error {
	tick := time.NewTicker(coord.HeartbeatEvery)
	defer tick.Stop()
	for {
		// Each call is bounded by a beat: a read or write that hangs must
		// not stop the beats until the heartbeat expires, when other
		// sidecars would take this live one's requests over.
		beatCtx, cancel := context.WithTimeout(ctx, coord.HeartbeatEvery)
		if err := s.claims.Beat(beatCtx); err != nil && ctx.Err() == nil {
			s.logger.Warn("write heartbeat; will retry", "err", err)
		}
		cancel()
		listCtx, cancel := context.WithTimeout(ctx, coord.HeartbeatEvery)
		live, err := s.claims.LiveSidecars(listCtx)
		cancel()
		if err == nil {
			s.mu.Lock()
			s.live = live
			s.mu.Unlock()
		} else if ctx.Err() == nil {
			s.logger.Warn("list live sidecars; will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
