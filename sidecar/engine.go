package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// engine is what every part of the Service shares: the adapters, the
// options, the clock and the log, and the few helpers all of them use.
// Backup folders are read and written through store, at the keys layout
// gives; every object writers coordinate by (the lease, pins, work records,
// the index and check results, the prefix's owner) goes through bucket.
type engine struct {
	store  coord.ObjectStore
	bucket *coord.Bucket
	db     Database   // backups, operations, tables
	ops    RestoreOps // a restore's changes to a live database
	own    OwnRights  // the sidecar's own rights; nil: not asked
	notify Notifier
	layout coord.Layout
	// version is the newest read of ClickHouse's version (versionMemo).
	version *versionMemo
	opts    Options
	logger  *slog.Logger
	now     func() time.Time
}

// bucketConfig is the coordination the options ask for, on the engine's
// clock.
func (s *engine) bucketConfig() coord.Config {
	return coord.Config{Layout: s.layout, Holder: s.opts.Holder, Deployment: s.opts.Deployment,
		LeaseTTL: s.opts.LeaseTTL, Poll: s.opts.PollInterval, Now: func() time.Time { return s.now() }}
}

// storeNow is the engine's clock read on the store's (coord.OnStoreClock),
// as the bucket stamps heartbeats: what judges them must read it too. (A
// function, not a method: every part of the Service embeds the engine.)
func storeNow(s *engine) time.Time { return s.now().Add(coord.StoreOffset(s.store)) }

// lookTwice runs look, and once more grace (Options.UnsentGrace) later
// when ClickHouse answers that it does not know the operation: a BACKUP
// or RESTORE a killed run sent may reach a busy server a moment later,
// and a restart on the same machine may come sooner than that (coord's
// runGoneHere). Taken for never sent, a backup's metadata is removed and
// its request runs again, a restore is undone, a cluster step sent again.
func lookTwice(ctx context.Context, grace time.Duration, what string, look func() (Operation, error)) (Operation, error) {
	op, err := look()
	if !errors.Is(err, ErrNotFound) {
		return op, err
	}
	select {
	case <-ctx.Done():
		return op, fmt.Errorf("look again for %s: %w", what, context.Cause(ctx))
	case <-time.After(grace):
	}
	return look()
}

// fault calls the fault hook at a named point, if one is set.
func (s *engine) fault(name string) {
	if s.opts.FaultPoint != nil {
		s.opts.FaultPoint(name)
	}
}

// endSign is a cheaper sign than system.backups that an operation has
// ended: a backup's .backup object, which ClickHouse writes last. nil: the
// operation has none, and system.backups is read on every poll.
type endSign func(ctx context.Context) (bool, error)

// operationWait is one wait for an operation: what it has seen so far.
type operationWait struct {
	start, lastContact, lastRead time.Time
	readTook                     time.Duration // how long the last read of system.backups took
	readFailed                   bool          // and whether it failed
	signed                       bool          // the end sign was seen: read system.backups on every poll now
}

// waitOperation polls system.backups until the operation ends, reporting
// progress. A passing ClickHouse error is retried until LostContactAfter.
//
// A read of system.backups costs more with every operation the server ran
// since it started: ClickHouse keeps them all and fills a row for each,
// with its profile events, on every read (StorageSystemBackups; no filter
// reaches it). Where the operation has an end sign, it is what the polls
// look at, and system.backups is read once the sign is seen, and at most
// every PollInterval before it, for a failure and for progress: a backup
// of a tenant's small database then reads system.backups about once.
func (s *engine) waitOperation(ctx context.Context, id, kind, name string, progress ProgressFunc, sign endSign) (Operation, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.OperationTimeout)
	defer cancel()
	w := operationWait{start: s.now()}
	w.lastContact, w.lastRead = w.start, w.start
	for {
		if w.readDue(ctx, s.now(), s.opts.PollInterval, sign) {
			w.lastRead = s.now()
			readStart := time.Now() // the read's own duration, on this process's clock (s.now may be a test's)
			op, err := s.db.Operation(ctx, id)
			w.readTook, w.readFailed = time.Since(readStart), err != nil
			switch {
			case err == nil:
				w.lastContact = s.now()
				if progress != nil {
					progress(Progress{Operation: kind, Backup: name, Status: op.Status, NumFiles: op.NumFiles,
						TotalSize: op.TotalSize, BytesRead: op.BytesRead, Elapsed: s.now().Sub(w.start)})
				}
				if operationEnded(op.Status) {
					return op, nil
				}
			case errors.Is(err, ErrNotFound):
				return Operation{}, err
			case ctx.Err() != nil:
				return Operation{}, fmt.Errorf("wait for %s %s: %w", kind, name, ctx.Err())
			case s.now().Sub(w.lastContact) > s.opts.LostContactAfter:
				return Operation{}, fmt.Errorf("wait for %s %s: lost contact with ClickHouse for %s: %w",
					kind, name, s.opts.LostContactAfter, err)
			default:
				s.logger.Warn("read operation status; will retry", "operation", id, "err", err)
			}
		}
		// The pause starts when the read has returned, not when it began: a
		// server busy with the operation answers slowly, and reads sent back
		// to back then slowed a 2 s backup by about 5 % on the test bed.
		select {
		case <-ctx.Done():
			return Operation{}, fmt.Errorf("wait for %s %s: %w", kind, name, ctx.Err())
		case <-time.After(w.pause(s.pollWait(s.now().Sub(w.start)))):
		}
	}
}

// pause is how long to wait before the next poll: wait, unless the end
// sign was seen and the last read answered. ClickHouse then only closes
// the backup and says so, and the next read comes after as long as the
// last read took (at least minPollWait): a backup waited on ends promptly,
// while the reads, which cost the server tens of milliseconds at a
// thousand operations, take at most about half of its time for this
// wait. A read that failed (ClickHouse restarting) is retried at wait's
// pace, as before the sign.
func (w *operationWait) pause(wait time.Duration) time.Duration {
	if !w.signed || w.readFailed {
		return wait
	}
	return max(w.readTook, minPollWait)
}

// readDue reports whether this poll reads system.backups: always without
// an end sign, or once it was seen; else when every has passed since the
// last read, or the sign is seen now. A sign that cannot be looked at (S3
// answered an error) waits for the next read of system.backups, which
// decides alone as before.
func (w *operationWait) readDue(ctx context.Context, now time.Time, every time.Duration, sign endSign) bool {
	if sign == nil || w.signed || now.Sub(w.lastRead) >= every {
		return true
	}
	// The look is bounded by every: a slow S3 must not hold back the
	// read of system.backups (progress, a failure) that comes after it.
	ctx, cancel := context.WithTimeout(ctx, every)
	defer cancel()
	ended, err := sign(ctx)
	w.signed = err == nil && ended
	return w.signed
}

// pollWait is how long to wait before reading an operation's status again,
// elapsed into it: a quarter of the elapsed time while that is under
// 100 ms (at least minPollWait), then 100 ms (as often as a person polling
// by hand; faster only competes with the operation for the server's CPU),
// then a fiftieth of the elapsed time, at most PollInterval. Seeing the
// end late costs a small backup (tens of milliseconds, as a database of a
// tenant often is) at most a quarter of its time instead of a 100 ms
// floor, a longer one at most about 2 %, and a long operation is read
// rarely.
func (s *engine) pollWait(elapsed time.Duration) time.Duration {
	early := min(max(elapsed/4, minPollWait), 100*time.Millisecond)
	return min(max(elapsed/50, early), s.opts.PollInterval)
}

// minPollWait is the shortest wait between two reads of an operation.
const minPollWait = 5 * time.Millisecond

func operationEnded(status OperationStatus) bool {
	switch status {
	case OpBackupCreated, OpBackupFailed, OpRestored, OpRestoreFailed, OpCancelled, OpRestoreCancel:
		return true
	}
	return false
}

// emit sends a notification; its failure is logged and changes nothing.
func (s *engine) emit(ctx context.Context, e Event) {
	if s.notify == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := s.notify.Notify(ctx, e); err != nil {
		s.logger.Warn("send notification", "event", e.Event, "err", err)
	}
}

// RequireDatabase refuses a database that does not exist
// (ErrDatabaseMissing); its name was validated when it was parsed.
func (s *engine) RequireDatabase(ctx context.Context, name model.DatabaseName) error {
	ok, err := s.db.DatabaseExists(ctx, string(name))
	if err != nil {
		return fmt.Errorf("look up database %s: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("database %q: %w", name, model.ErrDatabaseMissing)
	}
	return nil
}
