package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"
)

// ErrLeaseLost means another writer took the lease over: the work under it
// is cancelled so two writers never fork or clean up one chain.
var ErrLeaseLost = errors.New("the chain lease was lost to another writer")

// Holder names who takes a lease. A Stable holder keeps its name across
// restarts (a sidecar: host and listen address) and may take back a live
// lease of its own name after a crash; a CLI run's name is its process and
// it never takes over a live lease, not even one of the same name.
type Holder struct {
	Name   string
	Stable bool
}

// LeaseInfo is the content of the lease object.
type LeaseInfo struct {
	Owner      string    `json:"owner"` // host and process of the holder
	Stable     bool      `json:"stable,omitempty"`
	Purpose    string    `json:"purpose"`
	AcquiredAt time.Time `json:"acquired_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// LockedError says who holds a lease.
type LockedError struct {
	Key    string
	Holder LeaseInfo
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("the chain is locked by %s (%s) until %s (lease %s); try again later",
		e.Holder.Owner, e.Holder.Purpose, e.Holder.ExpiresAt.UTC().Format(time.RFC3339), e.Key)
}

// Lease is a held lease object: one writer per database's chains.
type Lease struct {
	store  ObjectStore
	key    string
	info   LeaseInfo
	etag   string
	ttl    time.Duration
	now    func() time.Time
	logger *slog.Logger
}

// AcquireLease writes the lease object if it is absent, or takes it over if
// its holder let it expire. Both writes are conditional, so of two writers
// racing for it exactly one wins; the other gets a *LockedError.
func AcquireLease(ctx context.Context, store ObjectStore, key string, owner Holder, purpose string, ttl time.Duration, now func() time.Time, logger *slog.Logger) (*Lease, error) {
	l := &Lease{store: store, key: key, ttl: ttl, now: now, logger: logger,
		info: LeaseInfo{Owner: owner.Name, Stable: owner.Stable, Purpose: purpose, AcquiredAt: now().UTC()}}
	err := l.write(ctx, PutCondition{IfNoneMatch: true})
	if !errors.Is(err, ErrPreconditionFailed) {
		if err != nil {
			return nil, fmt.Errorf("acquire lease %s: %w", key, err)
		}
		return l, nil
	}
	data, etag, err := store.Get(ctx, key)
	if errors.Is(err, ErrNotFound) { // released between our write and read: try once more
		if err := l.write(ctx, PutCondition{IfNoneMatch: true}); err != nil {
			return nil, l.lockedOr(ctx, err)
		}
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lease %s: %w", key, err)
	}
	var holder LeaseInfo
	ours := false
	if err := json.Unmarshal(data, &holder); err == nil && now().Before(holder.ExpiresAt) {
		// A sidecar restarted after a crash has the same owner name: the
		// lease is its own from before, and no one else is using it.
		if holder.Owner != owner.Name || !holder.Stable || !owner.Stable {
			return nil, &LockedError{Key: key, Holder: holder}
		}
		ours = true
	}
	if ours {
		logger.Warn("taking back our own lease from before a restart", "lease", key)
	} else {
		logger.Warn("taking over an expired lease", "lease", key, "holder", holder.Owner, "expired_at", holder.ExpiresAt)
	}
	if err := l.write(ctx, PutCondition{IfMatch: etag}); err != nil {
		return nil, l.lockedOr(ctx, err)
	}
	return l, nil
}

// lockedOr turns a lost race into a LockedError naming the winner.
func (l *Lease) lockedOr(ctx context.Context, err error) error {
	if !errors.Is(err, ErrPreconditionFailed) {
		return fmt.Errorf("acquire lease %s: %w", l.key, err)
	}
	data, _, gerr := l.store.Get(ctx, l.key)
	var holder LeaseInfo
	if gerr != nil || json.Unmarshal(data, &holder) != nil {
		holder = LeaseInfo{Owner: "another writer", Purpose: "unknown"}
	}
	return &LockedError{Key: l.key, Holder: holder}
}

func (l *Lease) write(ctx context.Context, cond PutCondition) error {
	info := l.info
	info.ExpiresAt = l.now().Add(l.ttl).UTC()
	data, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("encode lease: %w", err)
	}
	etag, err := l.store.Put(ctx, l.key, data, cond)
	if err != nil {
		return err
	}
	l.etag, l.info = etag, info
	return nil
}

// Renew extends the lease; ErrLeaseLost if someone else holds it now.
func (l *Lease) Renew(ctx context.Context) error {
	err := l.write(ctx, PutCondition{IfMatch: l.etag})
	if errors.Is(err, ErrPreconditionFailed) {
		return ErrLeaseLost
	}
	if err != nil {
		return fmt.Errorf("renew lease %s: %w", l.key, err)
	}
	return nil
}

// Release deletes the lease object if it is still ours.
func (l *Lease) Release(ctx context.Context) error {
	_, etag, err := l.store.Get(ctx, l.key)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("release lease %s: %w", l.key, err)
	}
	if etag != l.etag {
		return nil // taken over: not ours to delete
	}
	if err := l.store.Delete(ctx, []string{l.key}); err != nil {
		return fmt.Errorf("release lease %s: %w", l.key, err)
	}
	return nil
}

// Hold runs fn while renewing the lease every third of its time to live, and
// releases it afterwards. If the lease is lost, or cannot be renewed before it
// expires, fn's context is cancelled and Hold returns why.
func (l *Lease) Hold(ctx context.Context, fn func(context.Context) error) error {
	g, gctx := errgroup.WithContext(ctx)
	done := make(chan struct{})
	g.Go(func() error {
		defer close(done)
		return fn(gctx)
	})
	g.Go(func() error { return l.renewUntil(gctx, done) })
	err := g.Wait()
	releaseCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if rerr := l.Release(releaseCtx); rerr != nil {
		l.logger.Warn("release lease", "lease", l.key, "err", rerr)
	}
	return err
}

func (l *Lease) renewUntil(ctx context.Context, done <-chan struct{}) error {
	tick := time.NewTicker(l.ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		err := l.Renew(ctx)
		switch {
		case err == nil:
		case errors.Is(err, ErrLeaseLost):
			return err
		case !l.now().Before(l.info.ExpiresAt):
			return fmt.Errorf("lease %s expired while it could not be renewed: %w", l.key, err)
		default:
			// A passing S3 error: the lease is still ours until it expires.
			l.logger.Warn("renew lease; will retry", "lease", l.key, "err", err)
		}
	}
}
