package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// Options tune the Service.
type Options struct {
	FullEvery        time.Duration // a new chain when the newest full is this old
	Retention        Retention
	LeaseTTL         time.Duration // lease time to live; renewed every third of it
	Holder           coord.Holder  // who takes leases and writes backups: a process, or a sidecar's stable name
	PollInterval     time.Duration // longest wait between reads of system.backups while an operation runs
	OperationTimeout time.Duration // give up waiting for one BACKUP or RESTORE after this
	LostContactAfter time.Duration // fail an operation when ClickHouse cannot be read for this long
	ControlDatabase  string        // the sidecar's tables: never a restore target
	Deployment       string        // this deployment's name, recorded as the owner of the prefix
	// FaultPoint, when set, is called at named points of a backup's life
	// ("claimed", "meta-written", "backup-sent", "backup-created"); only
	// the fault tests set it, to kill the process there.
	FaultPoint func(name string)
}

// fault calls the fault hook at a named point, if one is set.
func (s *Service) fault(name string) {
	if s.opts.FaultPoint != nil {
		s.opts.FaultPoint(name)
	}
}

func (o Options) withDefaults() Options {
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = time.Minute
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.OperationTimeout <= 0 {
		o.OperationTimeout = 24 * time.Hour
	}
	if o.LostContactAfter <= 0 {
		o.LostContactAfter = 2 * time.Minute
	}
	if o.Retention.KeepFullBackups < 1 {
		o.Retention.KeepFullBackups = 1
	}
	return o
}

// Service runs backups, restores, verification and cleanup. It reads and
// writes backup folders itself (store, at the keys layout gives); every
// object writers coordinate by (the lease, pins, work records, the index
// and check results, the prefix's owner) goes through bucket.
type Service struct {
	store  coord.ObjectStore
	bucket *coord.Bucket
	db     Database
	notify Notifier
	layout coord.Layout
	opts   Options
	logger *slog.Logger
	now    func() time.Time
}

// NewService wires the domain to its adapters. notifier may be nil.
func NewService(store coord.ObjectStore, db Database, notifier Notifier, layout coord.Layout, opts Options, logger *slog.Logger) *Service {
	s := &Service{store: store, db: db, notify: notifier, layout: layout,
		opts: opts.withDefaults(), logger: logger, now: time.Now}
	s.bucket = coord.New(store, s.bucketConfig(), logger)
	return s
}

// bucketConfig is the coordination the service's options ask for.
func (s *Service) bucketConfig() coord.Config {
	return coord.Config{Layout: s.layout, Holder: s.opts.Holder, Deployment: s.opts.Deployment,
		LeaseTTL: s.opts.LeaseTTL, Poll: s.opts.PollInterval, Now: func() time.Time { return s.now() }}
}

// SetNotifier replaces the notifier; call it before the service is used.
// The sidecar puts a queue in front of the configured one.
func (s *Service) SetNotifier(n Notifier) { s.notify = n }

// ProbeAndClaim is what every writer runs before it writes: the store
// must honour conditional writes and the prefix must be this deployment's
// (coord.Bucket.ProbeAndClaim).
func (s *Service) ProbeAndClaim(ctx context.Context) error { return s.bucket.ProbeAndClaim(ctx) }

// Location is where a backup folder is, for people and catalogs: never
// with a credential.
func (s *Service) Location(folder string) string { return s.store.URL(folder) }

// Progress is a snapshot of a running BACKUP or RESTORE.
type Progress struct {
	Operation string // backup or restore
	Backup    string
	Status    string
	NumFiles  uint64
	TotalSize uint64
	BytesRead uint64
	Elapsed   time.Duration
}

// ProgressFunc receives progress; it must not block.
type ProgressFunc func(Progress)

var identifier = regexp.MustCompile(`^[\p{L}\p{N}_][\p{L}\p{N}_-]{0,205}$`)

// ValidateIdentifier refuses a name ClickVault will not put in SQL (where it
// is back-quoted anyway): letters, digits, underscores and hyphens, not
// starting with a hyphen, at most 206 characters.
func ValidateIdentifier(what, name string) error {
	if !identifier.MatchString(name) {
		return fmt.Errorf("%s %q is not a name ClickVault accepts (letters, digits, _ and -, not starting with -)", what, name)
	}
	return nil
}

// ErrDatabaseMissing is returned for a database that does not exist.
var ErrDatabaseMissing = errors.New("database does not exist")

// RequireDatabase refuses a name ClickVault does not accept and a database
// that does not exist (ErrDatabaseMissing).
func (s *Service) RequireDatabase(ctx context.Context, name string) error {
	if err := ValidateIdentifier("database", name); err != nil {
		return err
	}
	ok, err := s.db.DatabaseExists(ctx, name)
	if err != nil {
		return fmt.Errorf("check database %s: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("database %q: %w", name, ErrDatabaseMissing)
	}
	return nil
}

// waitOperation polls system.backups until the operation ends, reporting
// progress. A passing ClickHouse error is retried until LostContactAfter.
func (s *Service) waitOperation(ctx context.Context, id, kind, name string, progress ProgressFunc) (Operation, error) {
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
// elapsed into it: a fiftieth of the elapsed time, at least 100 ms (as
// often as a person polling by hand; faster only competes with the
// operation for the server's CPU) and at most PollInterval. Seeing the end
// late then costs at most about 2 % of the operation's time, and a long
// operation is read rarely.
func (s *Service) pollWait(elapsed time.Duration) time.Duration {
	return min(max(elapsed/50, 100*time.Millisecond), s.opts.PollInterval)
}

func operationEnded(status string) bool {
	switch status {
	case OpBackupCreated, OpBackupFailed, OpRestored, OpRestoreFailed, OpCancelled, OpRestoreCancel:
		return true
	}
	return false
}

// emit sends a notification; its failure is logged and changes nothing.
func (s *Service) emit(ctx context.Context, e Event) {
	if s.notify == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := s.notify.Notify(ctx, e); err != nil {
		s.logger.Warn("send notification", "event", e.Event, "err", err)
	}
}

// Status lists ClickHouse's newest backup and restore operations.
func (s *Service) Status(ctx context.Context, limit int) ([]Operation, error) {
	ops, err := s.db.RecentOperations(ctx, limit)
	if err != nil {
		return nil, fmt.Errorf("read system.backups: %w", err)
	}
	return ops, nil
}

// Holder is coord.Holder, for the CLI's code that still names it here; it
// goes once that code names coord.Holder.
type Holder = coord.Holder
