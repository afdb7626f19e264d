package coord

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"
)

// goneRuns are the runs of this sidecar's name whose leases were seen to
// go unrenewed (watchForRenewal), whose heartbeat writes were seen to
// stop (Claims.ownRunGone), or whose process the kernel showed gone from
// this machine (runGoneHere), with when: their other leases are taken
// back at once, not watched again one after another, for one time to live.
// After that every lease a gone run wrote has expired, so a live lease of
// that run is a twin's that was misjudged (its renewals slowed), and is
// watched again.
var goneRuns sync.Map // run → time.Time, on this process's monotonic clock

// watchForRenewal watches a live lease of this sidecar's own name that
// another run of it wrote (Holder.Run): its run before a crash, or a twin
// that is alive. A live holder renews every third of its time to live
// (Lease.Hold), and a failed renewal again a twentieth later; so half of
// it leaves a renewal slowed by one failure and seconds of S3 latency to
// be seen. Unrenewed by then, the run that wrote it is gone and the lease
// is taken back, before it would expire: ok with the lease's ETag as it
// still is, or released when it was deleted meanwhile. Renewed by the same
// run (watched), it is a twin: a *LeaseHeldError with Twin set; taken by
// another writer meanwhile, the same error without. ttl is this sidecar's;
// twins share it. A run whose process the kernel shows gone from this
// machine (runGoneHere) is not watched: its lease is taken back at once.
func watchForRenewal(ctx context.Context, store ObjectStore, key, etag string, watched LeaseInfo, ttl time.Duration) (
	current string, released bool, err error) {
	if runGoneHere(watched.Run) { // its process is gone from this host: nothing to watch
		markGoneHere(watched.Run)
		return etag, false, nil
	}
	if judged, gone := goneRuns.Load(watched.Run); gone && watched.Run != "" {
		if time.Since(judged.(time.Time)) < ttl {
			return etag, false, nil
		}
		goneRuns.Delete(watched.Run)
	}
	timer := time.NewTimer(ttl / 2)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return "", false, fmt.Errorf("watch lease %s for a renewal: %w", key, context.Cause(ctx))
	case <-timer.C:
	}
	data, now, err := store.Get(ctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		return "", true, nil
	case err != nil:
		return "", false, fmt.Errorf("read lease %s: %w", key, err)
	case now == etag:
		goneRuns.Store(watched.Run, time.Now())
		return etag, false, nil
	}
	info := holderOf(data, nil)
	twin := info.Holder == watched.Holder && info.Run == watched.Run
	return "", false, &LeaseHeldError{Key: key, Info: info, Twin: twin}
}

// heldHere are the leases this process holds now (acquired, not yet
// released), by bucket and key: a live lease of this process's own run is
// another of its tasks' (the copy round's, say, when a cleanup of the copy
// target comes), never one a crash left, so it is not taken back.
var heldHere sync.Map // heldKey → *Lease

// Located is a store that says which bucket it is (an S3 endpoint and
// bucket): two store values of one bucket hold one set of leases.
type Located interface {
	Location() string
}

type heldKey struct {
	location string      // a Located store's
	store    ObjectStore // another store, when it can be a map key
	key      string
}

// heldKeyOf is where a lease is recorded in heldHere; ok false for a store
// that is neither Located nor comparable (its leases are taken back as
// before).
func heldKeyOf(store ObjectStore, key string) (heldKey, bool) {
	if l, ok := store.(Located); ok {
		return heldKey{location: l.Location(), key: key}, true
	}
	if store == nil || !reflect.TypeOf(store).Comparable() {
		return heldKey{}, false
	}
	return heldKey{store: store, key: key}, true
}

// recordHeldHere records that this process holds l.
func recordHeldHere(l *Lease) {
	if k, ok := heldKeyOf(l.store, l.key); ok {
		heldHere.Store(k, l)
	}
}

// forgetHeldHere forgets l, and only l: a task of this process that took
// the lease over after l expired keeps its record.
func forgetHeldHere(l *Lease) {
	if k, ok := heldKeyOf(l.store, l.key); ok {
		heldHere.CompareAndDelete(k, l)
	}
}

func isHeldHere(store ObjectStore, key string) bool {
	k, ok := heldKeyOf(store, key)
	if !ok {
		return false
	}
	_, held := heldHere.Load(k)
	return held
}
