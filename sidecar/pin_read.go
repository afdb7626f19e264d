package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
)

// A cleanup reads the pins of a database once: one LIST of the pins folder,
// then each pin, at most pinReaders at once.
const (
	pinReaders = 16
	// maxPins bounds what one cleanup reads. Stale pins are removed by
	// every cleanup, so more live pins than this means something is wrong:
	// the cleanup then deletes nothing rather than guess.
	maxPins = 1000
)

// FoundPin is a pin as a cleanup read it.
type FoundPin struct {
	PinInfo
	Key string
	// Seen is the newest sign of life: the heartbeat the holder wrote or the
	// time S3 stored the object, whichever is later, so a holder whose clock
	// is behind is not taken for dead.
	Seen time.Time
	// Unreadable says why the object's content could not be read; such a
	// pin keeps every backup of the database until it is stale.
	Unreadable string
}

// Stale reports whether the pin's holder has not renewed it for PinStaleAfter.
func (p FoundPin) Stale(now time.Time) bool { return now.Sub(p.Seen) > PinStaleAfter }

// Describe names a pin for people: "restore <request id> on <host> since <time>".
func (p FoundPin) Describe() string {
	if p.Unreadable != "" {
		return fmt.Sprintf("unreadable pin %s (%s)", p.Key, p.Unreadable)
	}
	who := p.Action
	if p.RequestID != "" {
		who += " " + p.RequestID
	}
	if p.Holder != "" {
		who += " on " + p.Holder
	}
	return fmt.Sprintf("%s since %s", who, p.Since.UTC().Format(time.RFC3339))
}

// IgnoredPin is a pin a cleanup did not honour, with why.
type IgnoredPin struct {
	Pin     FoundPin
	Reason  string
	Removed bool // a stale pin the cleanup deleted
}

// readPins lists the database's pins and reads each.
func (s *Service) readPins(ctx context.Context, database string) ([]FoundPin, error) {
	listing, err := s.store.List(ctx, s.layout.PinsRoot(database), true)
	if err != nil {
		return nil, fmt.Errorf("list the pins of %s: %w", database, err)
	}
	if n := len(listing.Objects); n > maxPins {
		return nil, fmt.Errorf("%s holds %d pins, more than the %d a cleanup reads; nothing is deleted until they are fewer",
			s.layout.PinsRoot(database), n, maxPins)
	}
	pins := make([]*FoundPin, len(listing.Objects))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(pinReaders)
	for i, o := range listing.Objects {
		g.Go(func() error {
			p, err := s.readPin(gctx, o)
			pins[i] = p
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []FoundPin
	for _, p := range pins {
		if p != nil {
			out = append(out, *p)
		}
	}
	slices.SortFunc(out, func(a, b FoundPin) int { return a.Since.Compare(b.Since) })
	return out, nil
}

// readPin reads one listed pin; nil if it was released since the LIST.
func (s *Service) readPin(ctx context.Context, o ObjectInfo) (*FoundPin, error) {
	data, _, err := s.store.Get(ctx, o.Key)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read pin %s: %w", o.Key, err)
	}
	p := &FoundPin{Key: o.Key, Seen: o.LastModified}
	if err := json.Unmarshal(data, &p.PinInfo); err != nil {
		p.Unreadable = "not a pin: " + err.Error()
		p.PinInfo = PinInfo{}
	}
	if p.Heartbeat.After(p.Seen) {
		p.Seen = p.Heartbeat
	}
	return p, nil
}

// removeStalePins deletes the pins a cleanup ignored as stale, so the pins
// folder holds only live ones. A holder that is alive after all writes its
// pin again at its next heartbeat.
func (s *Service) removeStalePins(ctx context.Context, ignored []IgnoredPin) {
	for i, ip := range ignored {
		if !ip.Pin.Stale(s.now()) {
			continue
		}
		if err := s.store.Delete(ctx, []string{ip.Pin.Key}); err != nil {
			s.logger.Warn("remove a stale pin; the next cleanup tries again", "pin", ip.Pin.Key, "err", err)
			continue
		}
		ignored[i].Removed = true
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
		out = append(out, fmt.Sprintf("kept %s: %s", what, pinRule(p)))
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

// pinRule is the rule a pin gives the backups it keeps.
func pinRule(p FoundPin) string { return "pinned by " + p.Describe() }
