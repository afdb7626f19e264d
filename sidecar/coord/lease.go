package coord

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

// What a lease is taken for: a backup (or its adoption) or a cleanup. A
// reader that pins backups waits while a cleanup holds the lease (pins.go).
const (
	PurposeBackup  = "backup"
	PurposeCleanup = "cleanup"
)

// Holder names who takes a lease, a pin, a work record. A Stable holder
// keeps its name across restarts (a sidecar: host and listen address) and
// may take back a live lease of its own name after a crash; a CLI run's
// name is its process and it never takes over a live lease, not even one
// of the same name.
type Holder struct {
	Name   string
	Stable bool
	// Run tells this process from another under the same Name: the one
	// before a restart, or a twin (a copied configuration on a host of the
	// same name); a sidecar's is ProcessRun. A Stable holder takes a live
	// lease of its name from another run only once that run is seen not
	// to renew it (watchForRenewal).
	Run string
}

// LeaseInfo is the content of the lease object.
type LeaseInfo struct {
	Holder     string    `json:"owner"` // host and process of the holder (the key predates the word)
	Stable     bool      `json:"stable,omitempty"`
	Run        string    `json:"run,omitempty"` // Holder.Run
	Purpose    string    `json:"purpose"`
	AcquiredAt time.Time `json:"acquired_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// LeaseHeldError says who holds a lease. Its message is the one people
// know ("the chain is locked by …"): the CLI prints it and the
// troubleshooting guide quotes it.
type LeaseHeldError struct {
	Key  string
	Info LeaseInfo
	// Twin: the holder has this sidecar's own name, in another process
	// that renews the lease (see Holder.Run).
	Twin bool
	// Here: this very process holds it, for another of its tasks.
	Here bool
}

func (e *LeaseHeldError) Error() string {
	if e.Here {
		return fmt.Sprintf("the chain is locked by another task of this sidecar (%s) until %s (lease %s); try again later",
			e.Info.Purpose, e.Info.ExpiresAt.UTC().Format(time.RFC3339), e.Key)
	}
	if e.Twin {
		return fmt.Sprintf("the chain is locked by another live sidecar with this sidecar's own name %s (%s), which "+
			"renews lease %s: two sidecars share one name (host name and sidecar.listen); give each its own, "+
			"or stop one", e.Info.Holder, e.Info.Purpose, e.Key)
	}
	return fmt.Sprintf("the chain is locked by %s (%s) until %s (lease %s); try again later",
		e.Info.Holder, e.Info.Purpose, e.Info.ExpiresAt.UTC().Format(time.RFC3339), e.Key)
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
	// validUntil is when the last write's hold ends, on this process's
	// own monotonic clock (the write's start and the time to live): the
	// lease's clock (now) may be another (a test's), or jump.
	validUntil time.Time
}

// AcquireLease writes the lease object if it is absent, or takes it over if
// its holder let it expire. Both writes are conditional, so of two writers
// racing for it exactly one wins; the other gets a *LeaseHeldError.
func AcquireLease(ctx context.Context, store ObjectStore, key string, holder Holder, purpose string, ttl time.Duration, now func() time.Time, logger *slog.Logger) (*Lease, error) {
	l, err := acquireLease(ctx, store, key, holder, purpose, ttl, now, logger)
	if err == nil {
		recordHeldHere(l)
	}
	return l, err
}

func acquireLease(ctx context.Context, store ObjectStore, key string, holder Holder, purpose string, ttl time.Duration, now func() time.Time, logger *slog.Logger) (*Lease, error) {
	l := &Lease{store: store, key: key, ttl: ttl, now: now, logger: logger,
		info: LeaseInfo{Holder: holder.Name, Stable: holder.Stable, Run: holder.Run, Purpose: purpose, AcquiredAt: now().UTC()}}
	err := l.write(ctx, PutCondition{IfNoneMatch: true})
	if !errors.Is(err, ErrPreconditionFailed) {
		if err != nil {
			return nil, fmt.Errorf("acquire lease %s: %w", key, err)
		}
		return l, nil
	}
	data, etag, err := store.Get(ctx, key)
	if errors.Is(err, ErrNotFound) { // released between our write and read
		return l.takeFreed(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("read lease %s: %w", key, err)
	}
	var current LeaseInfo
	ours := false
	if err := json.Unmarshal(data, &current); err == nil && now().Before(current.ExpiresAt) {
		// A sidecar restarted after a crash has the same holder name: the
		// lease is its own from before, and no one else is using it,
		// unless a twin of its name renews it.
		if current.Holder != holder.Name || !current.Stable || !holder.Stable {
			return nil, &LeaseHeldError{Key: key, Info: current}
		}
		if current.Run == holder.Run && holder.Run != "" && isHeldHere(store, key) {
			// This very process holds it, for another of its tasks.
			return nil, &LeaseHeldError{Key: key, Info: current, Here: true}
		}
		if current.Run != holder.Run {
			var released bool
			if etag, released, err = watchForRenewal(ctx, store, key, etag, current, ttl); err != nil {
				return nil, err
			}
			if released {
				return l.takeFreed(ctx)
			}
		}
		ours = true
	}
	if ours {
		logger.Warn("taking back our own lease from before a restart", "lease", key)
	} else {
		logger.Warn("taking over an expired lease", "lease", key, "holder", current.Holder, "expired_at", current.ExpiresAt)
	}
	err = l.write(ctx, PutCondition{IfMatch: etag})
	if errors.Is(err, ErrNotFound) { // released between our read and write (S3 answers If-Match on a missing key 404)
		return l.takeFreed(ctx)
	}
	if err != nil {
		return nil, l.heldOr(ctx, err)
	}
	return l, nil
}

// takeFreed writes the lease anew once its object was found gone (its
// holder released it meanwhile): it is free, to the first who writes it.
func (l *Lease) takeFreed(ctx context.Context) (*Lease, error) {
	if err := l.write(ctx, PutCondition{IfNoneMatch: true}); err != nil {
		return nil, l.heldOr(ctx, err)
	}
	return l, nil
}

// heldOr turns a lost race into a LeaseHeldError naming the winner.
func (l *Lease) heldOr(ctx context.Context, err error) error {
	if !errors.Is(err, ErrPreconditionFailed) {
		return fmt.Errorf("acquire lease %s: %w", l.key, err)
	}
	data, _, gerr := l.store.Get(ctx, l.key)
	return &LeaseHeldError{Key: l.key, Info: holderOf(data, gerr)}
}

// holderOf is the lease read as data (err: the read's), for a
// LeaseHeldError: "another writer" when it cannot be read or decoded.
func holderOf(data []byte, err error) LeaseInfo {
	var info LeaseInfo
	if err != nil || json.Unmarshal(data, &info) != nil {
		return LeaseInfo{Holder: "another writer", Purpose: "unknown"}
	}
	return info
}

func (l *Lease) write(ctx context.Context, cond PutCondition) error {
	start := time.Now()
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
	l.etag, l.info, l.validUntil = etag, info, start.Add(l.ttl)
	return nil
}

// Renew extends the lease; ErrLeaseLost if someone else holds it now, or
// no one (S3 answers a conditional write on a missing object 404: a
// release racing a takeover deleted it).
func (l *Lease) Renew(ctx context.Context) error {
	err := l.write(ctx, PutCondition{IfMatch: l.etag})
	if errors.Is(err, ErrPreconditionFailed) || errors.Is(err, ErrNotFound) {
		return ErrLeaseLost
	}
	if err != nil {
		return fmt.Errorf("renew lease %s: %w", l.key, err)
	}
	return nil
}

// Release deletes the lease object if it is still ours. One expired on
// this process's clock is left: another writer may take it now (its
// object says when it expires), and a delete between that one's taking
// and its renewal would delete its lease. (The read and the delete are
// not one step: a writer whose clock runs ahead may still take it in
// between.)
func (l *Lease) Release(ctx context.Context) error {
	// Forgotten once the object is deleted (or left), whatever S3 answers:
	// until then another task of this run finds it held here and waits,
	// rather than taking it back between the read and the delete below.
	defer forgetHeldHere(l)
	if !time.Now().Before(l.validUntil) {
		return nil
	}
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

// renewUntil renews the lease every third of its time to live until done,
// and after a failed renewal again soon (a twentieth of it), so S3 back
// before the lease expires keeps it. It returns why the lease is no longer
// ours: lost to another writer, or expired without a renewal.
func (l *Lease) renewUntil(ctx context.Context, done <-chan struct{}) error {
	every, retry := l.ttl/3, max(l.ttl/20, 10*time.Millisecond)
	wait := every
	for {
		timer := time.NewTimer(wait)
		select {
		case <-done:
			timer.Stop()
			return nil
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		err := l.renewInTime(ctx)
		switch {
		case err == nil:
			// From the renewal's start: a slow one leaves less time.
			wait = min(every, time.Until(l.validUntil)/2)
		case errors.Is(err, ErrLeaseLost), errors.Is(err, errLeaseExpired):
			return err
		default:
			// A passing S3 error: the lease is still ours until it expires.
			l.logger.Warn("renew lease; will retry", "lease", l.key, "err", err)
			wait = max(min(retry, time.Until(l.validUntil)), 0)
		}
	}
}

// renewInTime renews the lease, giving up when it expires: a renewal
// that hangs (S3 not answering, its SDK retrying for minutes) must not let
// the work under the lease go on after another writer may have taken it.
func (l *Lease) renewInTime(ctx context.Context) error {
	if !time.Now().Before(l.validUntil) {
		return fmt.Errorf("lease %s: %w", l.key, errLeaseExpired)
	}
	renewCtx, cancel := context.WithDeadline(ctx, l.validUntil)
	defer cancel()
	err := l.Renew(renewCtx)
	if err != nil && renewCtx.Err() != nil && ctx.Err() == nil {
		return fmt.Errorf("lease %s: %w: %w", l.key, errLeaseExpired, err)
	}
	return err
}

// errLeaseExpired is a lease whose renewal did not succeed before it expired.
var errLeaseExpired = errors.New("expired while it could not be renewed")

// readLease reads a lease object; ok false when there is none or it is
// not ClickVault's JSON.
func readLease(ctx context.Context, store ObjectStore, key string) (LeaseInfo, bool, error) {
	data, _, err := store.Get(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return LeaseInfo{}, false, nil
	}
	if err != nil {
		return LeaseInfo{}, false, err
	}
	var l LeaseInfo
	if json.Unmarshal(data, &l) != nil {
		return LeaseInfo{}, false, nil
	}
	return l, true, nil
}
