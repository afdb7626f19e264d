package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar"
)

// A request is executed at most once, even with several sidecars reading one
// control table: before running it, a sidecar writes a claim object with a
// conditional PUT, which exactly one of them wins. ClickHouse tables have no
// compare-and-set; S3 conditional writes do.
//
// A sidecar's id is stable across restarts (host and listen address), so a
// restarted sidecar resumes its own claims at once. Another sidecar takes a
// claim over only when its owner's heartbeat object has expired.

const (
	heartbeatEvery = 10 * time.Second
	heartbeatTTL   = 3 * heartbeatEvery
)

type claim struct {
	Instance string    `json:"instance"`
	At       time.Time `json:"at"`
}

type heartbeat struct {
	Instance  string    `json:"instance"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Runner) claimKey(requestID string) string {
	return s.layout.ControlKey("requests", requestID+".claim")
}

func (s *Runner) heartbeatKey(instance string) string {
	return s.layout.ControlKey("sidecars", strings.NewReplacer("/", "_", ":", "_").Replace(instance)+".json")
}

// claim reports whether this sidecar may run the request.
func (s *Runner) claim(ctx context.Context, requestID string) (bool, error) {
	data, err := json.Marshal(claim{Instance: s.opts.Instance, At: s.now().UTC()})
	if err != nil {
		return false, fmt.Errorf("encode claim: %w", err)
	}
	key := s.claimKey(requestID)
	_, err = s.store.Put(ctx, key, data, sidecar.PutCondition{IfNoneMatch: true})
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, sidecar.ErrPreconditionFailed) {
		return false, fmt.Errorf("claim request %s: %w", requestID, err)
	}
	existing, etag, err := s.store.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("read claim of request %s: %w", requestID, err)
	}
	var c claim
	if err := json.Unmarshal(existing, &c); err == nil && c.Instance == s.opts.Instance {
		return true, nil // ours, from before a restart
	}
	if alive, err := s.instanceAlive(ctx, c.Instance); err != nil || alive {
		return false, err
	}
	s.logger.Warn("taking over the request of a sidecar that stopped", "request", requestID, "owner", c.Instance)
	if _, err := s.store.Put(ctx, key, data, sidecar.PutCondition{IfMatch: etag}); err != nil {
		if errors.Is(err, sidecar.ErrPreconditionFailed) {
			return false, nil // another sidecar took it over first
		}
		return false, fmt.Errorf("take over claim of request %s: %w", requestID, err)
	}
	return true, nil
}

// liveSidecars lists the sidecars whose heartbeat objects are fresh.
func (s *Runner) liveSidecars(ctx context.Context) ([]string, error) {
	listing, err := s.store.List(ctx, s.layout.ControlKey("sidecars")+"/", true)
	if err != nil {
		return nil, fmt.Errorf("list heartbeats: %w", err)
	}
	var live []string
	for _, o := range listing.Objects {
		data, _, err := s.store.Get(ctx, o.Key)
		if err != nil {
			continue // gone since the listing
		}
		var hb heartbeat
		if json.Unmarshal(data, &hb) == nil && s.now().Before(hb.ExpiresAt) {
			live = append(live, hb.Instance)
		}
	}
	return live, nil
}

func (s *Runner) instanceAlive(ctx context.Context, instance string) (bool, error) {
	if instance == "" {
		return false, nil
	}
	data, _, err := s.store.Get(ctx, s.heartbeatKey(instance))
	if errors.Is(err, sidecar.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read heartbeat of %s: %w", instance, err)
	}
	var hb heartbeat
	if err := json.Unmarshal(data, &hb); err != nil {
		return false, nil
	}
	return s.now().Before(hb.ExpiresAt), nil
}

// heartbeatLoop keeps this sidecar's heartbeat object fresh, and looks at
// which other sidecars are alive.
func (s *Runner) heartbeatLoop(ctx context.Context) error {
	tick := time.NewTicker(heartbeatEvery)
	defer tick.Stop()
	for {
		data, _ := json.Marshal(heartbeat{Instance: s.opts.Instance, ExpiresAt: s.now().Add(heartbeatTTL).UTC()})
		if _, err := s.store.Put(ctx, s.heartbeatKey(s.opts.Instance), data, sidecar.PutCondition{}); err != nil && ctx.Err() == nil {
			s.logger.Warn("write heartbeat; will retry", "err", err)
		}
		if live, err := s.liveSidecars(ctx); err == nil {
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
