package sidecar

import (
	"context"
	"fmt"

	"github.com/clickvault/clickvault/sidecar/model"
)

// removeStalePins deletes the pins a cleanup ignored as stale, so the pins
// folder holds only live ones (coord.Bucket.RemoveStalePin).
func (s *cleaner) removeStalePins(ctx context.Context, ignored []model.IgnoredPin) {
	for i, ip := range ignored {
		removed, err := s.bucket.RemoveStalePin(ctx, ip.Pin)
		if err != nil {
			s.logger.Warn("remove a stale pin; the next cleanup tries again", "pin", ip.Pin.Key, "err", err)
		}
		ignored[i].Removed = removed
	}
}

// PinNotes says, one line each, which backups pins kept and which pins a
// cleanup ignored: for the CLI and the request's answer.
func (r CleanupReport) PinNotes() []string {
	var out []string
	for _, p := range r.Pins {
		what := "backup " + p.Backup + " and every backup it is built on"
		if p.Backup == "" {
			what = "every backup of " + r.Database
		}
		out = append(out, fmt.Sprintf("kept %s: %s", what, model.PinRule(p)))
	}
	for _, ip := range r.IgnoredPins {
		line := fmt.Sprintf("ignored the pin of %s: %s", ip.Pin.Describe(), ip.Reason)
		if ip.Removed {
			line += "; removed"
		}
		out = append(out, line)
	}
	return out
}
