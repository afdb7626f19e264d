// Package storetest is the one contract suite every coord.ObjectStore
// runs: the S3 adapter on MinIO and the in-memory store of the unit tests
// must answer alike, so a unit test on the in-memory store means what it
// would on S3.
package storetest

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// Contract checks what the domain relies on of an ObjectStore: ErrNotFound,
// If-None-Match: * and If-Match exactly as S3 answers them, listing with
// and without folders, Exists and Delete, keys with awkward characters.
// store must be empty.
func Contract(ctx context.Context, t *testing.T, store coord.ObjectStore) {
	t.Helper()
	if _, _, err := store.Get(ctx, "none"); !errors.Is(err, coord.ErrNotFound) {
		t.Fatalf("get missing: want ErrNotFound, got %v", err)
	}
	etag, err := store.Put(ctx, "a/x/1", []byte("one"), coord.PutCondition{IfNoneMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Put(ctx, "a/x/1", []byte("again"), coord.PutCondition{IfNoneMatch: true}); !errors.Is(err, coord.ErrPreconditionFailed) {
		t.Fatalf("put over an existing key with IfNoneMatch: want ErrPreconditionFailed, got %v", err)
	}
	if _, err := store.Put(ctx, "a/x/1", []byte("two"), coord.PutCondition{IfMatch: `"0000"`}); !errors.Is(err, coord.ErrPreconditionFailed) {
		t.Fatalf("put with a stale IfMatch: want ErrPreconditionFailed, got %v", err)
	}
	if _, err := store.Put(ctx, "a/x/missing", []byte("two"), coord.PutCondition{IfMatch: `"0000"`}); !errors.Is(err, coord.ErrNotFound) {
		t.Fatalf("put with IfMatch on a missing key: want ErrNotFound (S3's 404), got %v", err)
	}
	written, err := store.Put(ctx, "a/x/1", []byte("two"), coord.PutCondition{IfMatch: etag})
	if err != nil {
		t.Fatalf("put with the right IfMatch: %v", err)
	}
	// A Put's ETag is the one a Get then gives (whether a writer came
	// since is judged by it: the catalog index), and a new content's
	// differs.
	data, read, err := store.Get(ctx, "a/x/1")
	if err != nil || string(data) != "two" || read != written || written == etag {
		t.Fatalf("get: %q, ETag %s after a put that gave %s (the one before: %s), %v", data, read, written, etag, err)
	}
	if looked, err := store.ETag(ctx, "a/x/1"); err != nil || looked != written {
		t.Fatalf("ETag: %s, %v; want the put's %s", looked, err, written)
	}
	if _, err := store.ETag(ctx, "a/x/none"); !errors.Is(err, coord.ErrNotFound) {
		t.Fatalf("ETag of a missing key: want ErrNotFound, got %v", err)
	}
	for _, k := range []string{"a/x/2", "a/y/1", "a/top", "b/1?weird key"} {
		if _, err := store.Put(ctx, k, []byte(k), coord.PutCondition{}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := store.List(ctx, "a/", false)
	if err != nil || len(l.Folders) != 2 || len(l.Objects) != 1 {
		t.Fatalf("list a/: %+v, %v", l, err)
	}
	l, err = store.List(ctx, "a/", true)
	if err != nil || len(l.Objects) != 4 || len(l.Folders) != 0 {
		t.Fatalf("list a/ recursively: %+v, %v", l, err)
	}
	if ok, err := store.Exists(ctx, "b/1?weird key"); !ok || err != nil {
		t.Fatalf("exists: %v, %v", ok, err)
	}
	if err := store.Delete(ctx, []string{"a/x/1", "a/x/2", "b/1?weird key"}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := store.Exists(ctx, "a/x/1"); ok {
		t.Fatal("deleted key still exists")
	}
}

// LeaseOneWriter: of writers racing for a lease on store exactly one wins;
// an expired lease is taken over; a renewal after a takeover reports the
// loss.
func LeaseOneWriter(ctx context.Context, t *testing.T, store coord.ObjectStore) {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	var mu sync.Mutex
	won, held := 0, 0
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := coord.AcquireLease(ctx, store, coord.Layout{}.LeaseKey("db"), coord.Holder{Name: "w"}, coord.PurposeBackup, time.Minute, time.Now, logger)
			mu.Lock()
			defer mu.Unlock()
			var le *coord.LeaseHeldError
			switch {
			case err == nil:
				won++
			case errors.As(err, &le):
				held++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || held != 7 {
		t.Fatalf("won %d, held %d; want 1 and 7", won, held)
	}

	old, err := coord.AcquireLease(ctx, store, coord.Layout{}.LeaseKey("db2"), coord.Holder{Name: "old"}, coord.PurposeBackup, time.Second, time.Now, logger)
	if err != nil {
		t.Fatal(err)
	}
	later := func() time.Time { return time.Now().Add(2 * time.Second) }
	if _, err := coord.AcquireLease(ctx, store, coord.Layout{}.LeaseKey("db2"), coord.Holder{Name: "new"}, coord.PurposeCleanup, time.Minute, later, logger); err != nil {
		t.Fatalf("take over an expired lease: %v", err)
	}
	if err := old.Renew(ctx); !errors.Is(err, coord.ErrLeaseLost) {
		t.Fatalf("renew after takeover: want ErrLeaseLost, got %v", err)
	}
	// A lease whose object is gone (a release racing a takeover deleted
	// it) is no one's: its holder's renewal says so, whatever S3 answers
	// a conditional write on a missing object (412, or 404).
	gone, err := coord.AcquireLease(ctx, store, coord.Layout{}.LeaseKey("db3"), coord.Holder{Name: "gone"}, coord.PurposeBackup, time.Minute, time.Now, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(ctx, []string{coord.Layout{}.LeaseKey("db3")}); err != nil {
		t.Fatal(err)
	}
	if err := gone.Renew(ctx); !errors.Is(err, coord.ErrLeaseLost) {
		t.Fatalf("renew a lease whose object was deleted: want ErrLeaseLost, got %v", err)
	}
	if ok, err := store.Exists(ctx, coord.Layout{}.LeaseKey("db3")); err != nil || ok {
		t.Fatalf("the renewal wrote the deleted lease again (exists %v, %v)", ok, err)
	}
}

// ObjectLock checks what a cleanup relies on of a coord.ObjectLock: the
// bucket's configuration as set (want), a new object held from its write
// for the default retention in its mode (nothing without one), the lock's
// reading of an overwritten object being that of its new version, and
// ErrNotFound for a key that is missing or deleted (on a versioned bucket
// a delete marker hides it, and the version it hides is not read).
func ObjectLock(ctx context.Context, t *testing.T, store coord.ObjectStore, lock coord.ObjectLock, want coord.BucketLock) {
	t.Helper()
	if got, err := lock.BucketLock(ctx); err != nil || got != want {
		t.Fatalf("bucket lock: %+v, %v; want %+v", got, err, want)
	}
	period := time.Duration(want.Days)*24*time.Hour + time.Duration(want.Years)*365*24*time.Hour
	var last time.Time
	for i := range 2 {
		before := time.Now()
		if _, err := store.Put(ctx, "lock/x", []byte{byte(i)}, coord.PutCondition{}); err != nil {
			t.Fatal(err)
		}
		after := time.Now()
		r, err := lock.Retention(ctx, "lock/x")
		if err != nil {
			t.Fatalf("retention of write %d: %v", i, err)
		}
		if !want.Enabled || period == 0 {
			if r != (coord.Retention{}) {
				t.Fatalf("retention without a default retention: %+v", r)
			}
			continue
		}
		// S3 dates a retention to the second.
		if r.Mode != want.Mode || r.LegalHold || r.Until.Before(before.Add(period-time.Second)) || r.Until.After(after.Add(period+time.Second)) ||
			r.Until.Before(last) {
			t.Fatalf("retention of write %d at %s..%s: %+v; want %s until then plus %s", i, before, after, r, want.Mode, period)
		}
		last = r.Until
	}
	if _, err := lock.Retention(ctx, "lock/none"); !errors.Is(err, coord.ErrNotFound) {
		t.Fatalf("retention of a missing key: want ErrNotFound, got %v", err)
	}
	if err := store.Delete(ctx, []string{"lock/x"}); err != nil {
		t.Fatalf("delete a held object (a delete marker on a versioned bucket): %v", err)
	}
	if _, err := lock.Retention(ctx, "lock/x"); !errors.Is(err, coord.ErrNotFound) {
		t.Fatalf("retention of a deleted key: want ErrNotFound, got %v", err)
	}
}
