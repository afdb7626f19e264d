package coord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config says whose the Bucket is and how it paces its waits.
type Config struct {
	Layout     Layout
	Holder     Holder        // who takes leases, pins and work records: a process, or a sidecar's stable name
	Deployment string        // this deployment's name, recorded as the owner of the prefix
	LeaseTTL   time.Duration // lease time to live; renewed every third of it (default 1 minute)
	// Poll is how often a reader looks whether a cleanup has ended
	// (default 1 second).
	Poll time.Duration
	// PinHeartbeat is how often a pin is rewritten (default
	// PinHeartbeatEvery); tests shorten it.
	PinHeartbeat time.Duration
	// Now is this host's clock (default time.Now; tests move it), read
	// on the store's (OnStoreClock) for leases, pins and their stamps.
	Now func() time.Time
}

// Bucket is the engine's side of the prefix: the lease, the prefix's
// owner and the probe, pins, work records, the catalog index and the check
// results. It holds no state of its own beyond its Config: two Buckets on
// one store coordinate through the store, as two processes do.
type Bucket struct {
	store      ObjectStore
	layout     Layout
	holder     Holder
	deployment string
	leaseTTL   time.Duration
	poll       time.Duration
	pinBeat    time.Duration
	logger     *slog.Logger
	now        func() time.Time
}

// New returns the Bucket of cfg's prefix on store.
func New(store ObjectStore, cfg Config, logger *slog.Logger) *Bucket {
	b := &Bucket{store: store, layout: cfg.Layout, holder: cfg.Holder, deployment: cfg.Deployment,
		leaseTTL: cfg.LeaseTTL, poll: cfg.Poll, pinBeat: cfg.PinHeartbeat, logger: logger, now: cfg.Now}
	if b.leaseTTL <= 0 {
		b.leaseTTL = time.Minute
	}
	if b.poll <= 0 {
		b.poll = time.Second
	}
	if b.pinBeat <= 0 {
		b.pinBeat = PinHeartbeatEvery
	}
	if b.now == nil {
		b.now = time.Now
	}
	b.now = OnStoreClock(store, b.now)
	return b
}

// WithLease runs fn holding the database's lease for purpose. With wait, a
// lease held by another writer is waited for (looking every second)
// instead of failing with a *LeaseHeldError.
func (b *Bucket) WithLease(ctx context.Context, database, purpose string, wait bool, fn func(context.Context) error) error {
	for {
		lease, err := AcquireLease(ctx, b.store, b.layout.LeaseKey(database), b.holder, purpose, b.leaseTTL, b.now, b.logger)
		var held *LeaseHeldError
		if wait && errors.As(err, &held) {
			select {
			case <-ctx.Done():
				return fmt.Errorf("wait for the lease of %s: %w", database, ctx.Err())
			case <-time.After(time.Second):
				continue
			}
		}
		if err != nil {
			return err
		}
		return lease.Hold(ctx, fn)
	}
}

// awaitCleanup waits while a cleanup holds the database's lease (see pins.go):
// the caller's pin is written, so the next cleanup sees it, but one already
// past its LIST of the pins would not.
func (b *Bucket) awaitCleanup(ctx context.Context, database string) error {
	logged := false
	for {
		l, ok, err := readLease(ctx, b.store, b.layout.LeaseKey(database))
		if err != nil {
			return fmt.Errorf("read the lease of %s: %w", database, err)
		}
		if !ok || l.Purpose != PurposeCleanup || !b.now().Before(l.ExpiresAt) {
			return nil
		}
		if !logged {
			b.logger.Info("waiting for a cleanup to end before reading backups", "database", database, "cleanup", l.Holder)
			logged = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the cleanup of %s to end: %w", database, ctx.Err())
		case <-time.After(b.poll):
		}
	}
}
