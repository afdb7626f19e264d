package sidecar

import (
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// SetPinHeartbeat shortens the pins' heartbeat for a test.
func (s *Service) SetPinHeartbeat(d time.Duration) {
	cfg := s.bucketConfig()
	cfg.PinHeartbeat = d
	s.bucket = coord.New(s.store, cfg, s.logger)
}
