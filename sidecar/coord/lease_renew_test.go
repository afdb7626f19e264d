package coord_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// hangingPuts is a store whose writes hang, once hang is set, until their
// context ends: S3 not answering while its SDK retries.
type hangingPuts struct {
	*memstore.ObjectStore
	hang atomic.Bool
}

func (h *hangingPuts) Put(ctx context.Context, key string, data []byte, cond coord.PutCondition) (string, error) {
	if h.hang.Load() {
		<-ctx.Done()
		return "", ctx.Err()
	}
	return h.ObjectStore.Put(ctx, key, data, cond)
}

// TestLeaseWorkStopsWhenItsRenewalHangsPastExpiry: the work under a lease
// is cancelled once the lease expires without a renewal, even when the
// renewal never returns: another writer may take the lease from then on,
// and two must never work under it at once.
func TestLeaseWorkStopsWhenItsRenewalHangsPastExpiry(t *testing.T) {
	store := &hangingPuts{ObjectStore: memstore.New()}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const ttl = 300 * time.Millisecond
	lease, err := coord.AcquireLease(ctx, store, "k", coord.Holder{Name: "a"}, coord.PurposeBackup, ttl, time.Now, discard)
	if err != nil {
		t.Fatal(err)
	}
	store.hang.Store(true)
	start := time.Now()
	var stopped time.Duration
	err = lease.Hold(ctx, func(ctx context.Context) error {
		<-ctx.Done() // the work goes on until the lease is no longer ours
		stopped = time.Since(start)
		return nil
	})
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Hold returned %v after %s (the test's own context: %v), want the lease's expiry", err, stopped, ctx.Err())
	}
	if stopped > 10*ttl { // at the lease's expiry, and some slack for a loaded machine
		t.Fatalf("the work went on %s under a lease of %s whose renewals hung", stopped, ttl)
	}
}

// failingPuts fails its next fail writes, as S3 answering 503 does.
type failingPuts struct {
	*memstore.ObjectStore
	fail atomic.Int32
}

func (f *failingPuts) Put(ctx context.Context, key string, data []byte, cond coord.PutCondition) (string, error) {
	if f.fail.Add(-1) >= 0 {
		return "", errors.New("503 Slow Down")
	}
	return f.ObjectStore.Put(ctx, key, data, cond)
}

// TestLeaseOutlivesFailedRenewalsWhileTimeIsLeft: renewals that fail
// are tried again soon, not a third of the time to live later, so S3
// back before the lease expires keeps the work going; the lease is
// renewed and released as usual after it.
func TestLeaseOutlivesFailedRenewalsWhileTimeIsLeft(t *testing.T) {
	store := &failingPuts{ObjectStore: memstore.New()}
	ctx := context.Background()
	const ttl = 1500 * time.Millisecond // renewed every 500 ms; after a failure, every 75 ms
	lease, err := coord.AcquireLease(ctx, store, "k", coord.Holder{Name: "a"}, coord.PurposeBackup, ttl, time.Now, discard)
	if err != nil {
		t.Fatal(err)
	}
	store.fail.Store(3) // the renewals at a third of the time to live, and two more
	err = lease.Hold(ctx, func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return errors.New("the work was cancelled")
		case <-time.After(2 * ttl):
			return nil
		}
	})
	if err != nil {
		t.Fatalf("work under a lease whose renewals failed three times, then succeeded in time: %v", err)
	}
	if ok, _ := store.Exists(ctx, "k"); ok {
		t.Fatal("the lease was not released after the work")
	}
}

// TestLeaseTakeoverOfAReleasedLease: an expired lease released between a
// writer's read of it and its conditional takeover (S3 answers the
// If-Match 404) is free: the writer takes it, rather than failing as if
// it were held.
func TestLeaseTakeoverOfAReleasedLease(t *testing.T) {
	ctx := context.Background()
	store := &memstore.DeletedBeforeWrite{ObjectStore: memstore.New()}
	past := func() time.Time { return time.Now().Add(-time.Hour) }
	if _, err := coord.AcquireLease(ctx, store, "k", coord.Holder{Name: "old"}, coord.PurposeBackup, time.Minute, past, discard); err != nil {
		t.Fatal(err)
	}
	l, err := coord.AcquireLease(ctx, store, "k", coord.Holder{Name: "new"}, coord.PurposeBackup, time.Minute, time.Now, discard)
	if err != nil {
		t.Fatalf("take over an expired lease released meanwhile: %v", err)
	}
	if err := l.Renew(ctx); err != nil {
		t.Fatalf("renew the lease taken: %v", err)
	}
}
