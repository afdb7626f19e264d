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
		if err := s.claims.Beat(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("write heartbeat; will retry", "err", err)
		}
		if live, err := s.claims.LiveSidecars(ctx); err == nil {
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
