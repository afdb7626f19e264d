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

// fault calls the fault hook at a named point, if one is set.
func (s *engine) fault(name string) {
	if s.opts.FaultPoint != nil {
		s.opts.FaultPoint(name)
	}
}

// waitOperation polls system.backups until the operation ends, reporting
// progress. A passing ClickHouse error is retried until LostContactAfter.
func (s *engine) waitOperation(ctx context.Context, id, kind, name string, progress ProgressFunc) (Operation, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.OperationTimeout)
	defer cancel()
	start := s.now()
	var lastContact = start
	for {
		op, err := s.db.Operation(ctx, id)
		switch {
		case err == nil:
			lastContact = s.now()
			if progress != nil {
				progress(Progress{Operation: kind, Backup: name, Status: op.Status, NumFiles: op.NumFiles,
					TotalSize: op.TotalSize, BytesRead: op.BytesRead, Elapsed: s.now().Sub(start)})
			}
			if operationEnded(op.Status) {
				return op, nil
			}
		case errors.Is(err, ErrNotFound):
			return Operation{}, err
		case ctx.Err() != nil:
			return Operation{}, fmt.Errorf("wait for %s %s: %w", kind, name, ctx.Err())
		case s.now().Sub(lastContact) > s.opts.LostContactAfter:
			return Operation{}, fmt.Errorf("wait for %s %s: lost contact with ClickHouse for %s: %w",
				kind, name, s.opts.LostContactAfter, err)
		default:
			s.logger.Warn("read operation status; will retry", "operation", id, "err", err)
		}
		// The pause starts when the read has returned, not when it began: a
		// server busy with the operation answers slowly, and reads sent back
		// to back then slowed a 2 s backup by about 5 % on the test bed.
		select {
		case <-ctx.Done():
			return Operation{}, fmt.Errorf("wait for %s %s: %w", kind, name, ctx.Err())
		case <-time.After(s.pollWait(s.now().Sub(start))):
		}
	}
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

func operationEnded(status string) bool {
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
