package sidecar

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// lockReaders is how many retentions of one backup's objects are read at once.
const lockReaders = 8

// heldBackups asks the bucket's Object Lock, for each backup a cleanup
// would delete, whether it still holds the backup's objects. On a
// versioned bucket a DELETE only hides an object behind a delete marker:
// a backup deleted while the lock holds it would be gone from every list
// while its versions stay, billed, until the lock lets go. So the cleanup
// keeps it (restorable, and said so) until then, and deletes it at the
// first cleanup after; it never removes a version. Nothing is asked when
// nothing would be deleted, or of a bucket without Object Lock.
func (s *cleaner) heldBackups(ctx context.Context, planned []model.Deletion) (map[string]coord.Retention, error) {
	lock := s.opts.ObjectLock
	if lock == nil || len(planned) == 0 {
		return nil, nil
	}
	cfg, err := lock.BucketLock(ctx)
	if err != nil {
		return nil, err
	}
	if !cfg.Enabled {
		return nil, nil
	}
	off := coord.StoreOffset(s.store)
	now := s.now().Add(off) // S3 holds an object until a date on its own clock
	held := map[string]coord.Retention{}
	for _, d := range planned {
		r, err := s.backupRetention(ctx, lock, d.Backup.Folder, now)
		if err != nil {
			return nil, fmt.Errorf("read the Object Lock of backup %s: %w", d.Backup.Name, err)
		}
		if r.Holds(now) {
			r.Until = r.Until.Add(-off) // the plan judges holds beside backups' names, on this host's clock
			held[d.Backup.Name] = r
		}
	}
	return held, nil
}

// backupRetention is the longest hold of the lock on the data of a
// backup's folder: ClickHouse's objects, not ClickVault's metadata, which
// it rewrites (marked DELETING, a fresh version: a cleanup cut short would
// otherwise wait a whole retention more to finish). The newest object is
// read first: under the bucket's default retention it is the one held
// longest, so a backup still held costs one LIST and one HEAD. Only when
// the lock has let go of it are the others read, at most lockReaders at
// once: an administrator may have extended the retention of any of them.
func (s *cleaner) backupRetention(ctx context.Context, lock coord.ObjectLock, folder string, now time.Time) (coord.Retention, error) {
	listing, err := s.store.List(ctx, folder, true)
	if err != nil {
		return coord.Retention{}, fmt.Errorf("list %s: %w", folder, err)
	}
	objects := slices.DeleteFunc(listing.Objects, func(o coord.ObjectInfo) bool { return o.Key == coord.MetaKey(folder) })
	slices.SortFunc(objects, func(a, b coord.ObjectInfo) int { return b.LastModified.Compare(a.LastModified) })
	if len(objects) == 0 {
		return coord.Retention{}, nil
	}
	longest, err := objectRetention(ctx, lock, objects[0].Key)
	if err != nil || longest.Holds(now) {
		return longest, err
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(lockReaders)
	for _, o := range objects[1:] {
		g.Go(func() error {
			r, err := objectRetention(gctx, lock, o.Key)
			mu.Lock()
			defer mu.Unlock()
			longest = longerHold(longest, r)
			return err
		})
	}
	return longest, g.Wait()
}

// objectRetention reads one object's retention; an object deleted since
// the listing holds nothing.
func objectRetention(ctx context.Context, lock coord.ObjectLock, key string) (coord.Retention, error) {
	r, err := lock.Retention(ctx, key)
	if errors.Is(err, coord.ErrNotFound) {
		return coord.Retention{}, nil
	}
	return r, err
}

// longerHold is the one of two holds that lasts longer: a legal hold
// outlasts any date.
func longerHold(a, b coord.Retention) coord.Retention {
	switch {
	case a.LegalHold:
		return a
	case b.LegalHold || b.Until.After(a.Until):
		return b
	}
	return a
}

// LockNotes says, one line each, which backups a cleanup kept because the
// bucket's Object Lock still holds them, and until when: for the CLI.
func (r CleanupReport) LockNotes() []string {
	var out []string
	for _, l := range r.Locked {
		after := "a cleanup after then deletes it"
		if l.Retention.LegalHold {
			after = "a cleanup after the hold is lifted deletes it"
		}
		out = append(out, fmt.Sprintf("kept %s backup %s and every backup it is built on: %s; %s",
			l.Backup.Kind, l.Backup.Name, model.LockRule(l.Retention), after))
	}
	return out
}

// LockSummary says in one line what the bucket's Object Lock kept from a
// cleanup and until when ("" when it kept nothing): for a request's answer,
// which names every backup only in the CLI's report.
func (r CleanupReport) LockSummary() string {
	if len(r.Locked) == 0 {
		return ""
	}
	names := make([]string, len(r.Locked))
	last := r.Locked[0].Retention
	for i, l := range r.Locked {
		names[i] = l.Backup.Name
		last = longerHold(last, l.Retention)
	}
	until := "the last until " + last.Until.UTC().Format(time.RFC3339)
	if last.LegalHold {
		until = "one under a legal hold"
	}
	return fmt.Sprintf("the bucket's Object Lock keeps %d backups it would delete (%s): %s",
		len(names), until, strings.Join(names, ", "))
}
