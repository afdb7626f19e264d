package sidecar

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// Options tune the Service.
type Options struct {
	FullEvery        time.Duration // a new chain when the newest full is this old
	Retention        model.Retention
	LeaseTTL         time.Duration // lease time to live; renewed every third of it
	Holder           coord.Holder  // who takes leases and writes backups: a process, or a sidecar's stable name
	PollInterval     time.Duration // longest wait between reads of system.backups while an operation runs
	OperationTimeout time.Duration // give up waiting for one BACKUP or RESTORE after this
	LostContactAfter time.Duration // fail an operation when ClickHouse cannot be read for this long
	ControlDatabase  string        // the sidecar's tables: never a restore target
	Deployment       string        // this deployment's name, recorded as the owner of the prefix
	// FullWhenIncrementalExceeds starts a new chain after an incremental
	// that stored more than this fraction of its full (0: never).
	FullWhenIncrementalExceeds float64
	// ObjectLock reads the bucket's Object Lock: a cleanup keeps, and
	// says so, the backups it still holds. nil: never asked (a store
	// without Object Lock).
	ObjectLock coord.ObjectLock
	// UnsentGrace is how long after ClickHouse first says it does not
	// know an operation a killed run may have sent it is asked again,
	// before a backup is taken for never sent, a restore undone or a
	// cluster step sent again (default 10 s): see lookTwice.
	UnsentGrace time.Duration
	// FaultPoint, when set, is called at named points of a backup's life
	// ("claimed", "meta-written", "backup-sent", "backup-created"); only
	// the fault tests set it, to kill the process there.
	FaultPoint func(name string)
}

func (o Options) withDefaults() Options {
	if o.Holder.Run == "" {
		o.Holder.Run = coord.ProcessRun // a CLI run's, or a test's
	}
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
	if o.UnsentGrace <= 0 {
		o.UnsentGrace = 10 * time.Second
	}
	if o.Retention.KeepFullBackups < 1 {
		o.Retention.KeepFullBackups = 1
	}
	return o
}

// Service runs backups, restores, verification, checks and cleanup. It is
// a front of parts, one per responsibility, that share one engine (the
// adapters, options, clock and log): the catalog (catalogs), backups,
// checks, cleanup, and, for now, restores and verifies on the Service
// itself. Its exported methods are the engine's API.
type Service struct {
	*engine
	catalogs *catalogs
	backups  *backups
	checks   *checks
	cleaner  *cleaner
	restorer *restorer
	works    *works
	sweeper  *sweeper
	verifier *verifier
	copier   *copier
}

// NewService wires the domain to its adapters: the bucket, and
// ClickHouse's ports. notifier may be nil.
func NewService(store coord.ObjectStore, ch ClickHouse, notifier Notifier, layout coord.Layout, opts Options, logger *slog.Logger) *Service {
	e := &engine{store: store, db: ch.Database, ops: ch.Restore, own: ch.Rights, notify: notifier, layout: layout,
		opts: opts.withDefaults(), logger: logger, now: time.Now, version: &versionMemo{}}
	e.bucket = coord.New(store, e.bucketConfig(), logger)
	cat := &catalogs{engine: e, legacy: &legacyMemo{}}
	b := &backups{engine: e, catalogs: cat}
	cat.backups = b
	chk := &checks{engine: e, catalogs: cat}
	w := &works{engine: e}
	rp := &replacer{engine: e, catalogs: cat, works: w}
	r := &restorer{engine: e, catalogs: cat, replacer: rp, works: w}
	w.restorer, w.replacer = r, rp
	return &Service{engine: e, catalogs: cat, backups: b, checks: chk,
		cleaner:  &cleaner{engine: e, catalogs: cat},
		restorer: r, works: w, sweeper: &sweeper{engine: e, works: w},
		verifier: &verifier{engine: e, catalogs: cat, checks: chk, restorer: r, works: w},
		copier:   &copier{engine: e, catalogs: cat}}
}

// Catalog discovers a database's backups in the bucket (catalogs.Catalog).
func (s *Service) Catalog(ctx context.Context, database string) (model.Catalog, error) {
	return s.catalogs.Catalog(ctx, database)
}

// Backup takes a backup (backups.Backup).
func (s *Service) Backup(ctx context.Context, req BackupRequest) (model.Backup, error) {
	return s.backups.Backup(ctx, req)
}

// Adopt settles a backup a previous run started (backups.Adopt).
func (s *Service) Adopt(ctx context.Context, database, name string, by Requester, progress ProgressFunc, turns Turns) (model.Backup, error) {
	return s.backups.Adopt(ctx, database, name, by, progress, turns)
}

// Check checks backups' objects against their manifests (checks.Check).
func (s *Service) Check(ctx context.Context, database, name string) (model.CheckReport, error) {
	return s.checks.Check(ctx, database, name)
}

// Results reads the last check and verify of each backup (checks.Results).
func (s *Service) Results(ctx context.Context, database string) (model.Results, error) {
	return s.checks.Results(ctx, database)
}

// Cleanup applies retention to one database (cleaner.Cleanup).
func (s *Service) Cleanup(ctx context.Context, database string, dryRun bool) (CleanupReport, error) {
	return s.cleaner.Cleanup(ctx, database, dryRun)
}

// Restore restores a backup into its target (restorer.Restore).
func (s *Service) Restore(ctx context.Context, req RestoreRequest) (model.RestoreResult, error) {
	return s.restorer.Restore(ctx, req)
}

// ChooseBackup finds the backup a restore reads (restorer.ChooseBackup).
func (s *Service) ChooseBackup(ctx context.Context, database, name string, asOf time.Time, tables ...string) (model.Backup, error) {
	return s.restorer.ChooseBackup(ctx, database, name, asOf, tables...)
}

// InspectTarget says what a restore's target holds (restorer.InspectTarget).
func (s *Service) InspectTarget(ctx context.Context, target string) (model.Target, error) {
	return s.restorer.InspectTarget(ctx, target)
}

// InspectTables says which tables of a database a table restore may
// Create or replace (restorer.InspectTables).
func (s *Service) InspectTables(ctx context.Context, database string) (model.TableTargets, error) {
	return s.restorer.InspectTables(ctx, database)
}

// ReadDefinitions reads the CREATE statement of every table of a backup
// (restorer.ReadDefinitions).
func (s *Service) ReadDefinitions(ctx context.Context, cat model.Catalog, b model.Backup) ([]model.TableDefinition, error) {
	return s.restorer.ReadDefinitions(ctx, cat, b)
}

// Plan is a restore's plan of a backup (restorer.Plan).
func (s *Service) Plan(ctx context.Context, cat model.Catalog, b model.Backup, req RestoreRequest) (model.RestorePlan, error) {
	return s.restorer.Plan(ctx, cat, b, req)
}

// AdoptRestore settles a restore a previous run started (works.AdoptRestore).
func (s *Service) AdoptRestore(ctx context.Context, operationID, backup, target string, progress ProgressFunc) (model.RestoreResult, error) {
	return s.works.AdoptRestore(ctx, operationID, backup, target, progress)
}

// SweepLeftovers removes what killed verifies and restores left
// (sweeper.SweepLeftovers).
func (s *Service) SweepLeftovers(ctx context.Context) { s.sweeper.SweepLeftovers(ctx) }

// Verify restores a backup into a scratch database and compares
// (verifier.Verify).
func (s *Service) Verify(ctx context.Context, database, name string, progress ProgressFunc) (model.VerifyResult, error) {
	return s.verifier.Verify(ctx, database, name, progress)
}

// Copy copies the completed backups of a database to a copy target
// (copier.Copy).
func (s *Service) Copy(ctx context.Context, t CopyTarget, database string) (CopyReport, error) {
	return s.copier.Copy(ctx, t, database)
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
	Status    OperationStatus
	NumFiles  uint64
	TotalSize uint64
	BytesRead uint64
	Elapsed   time.Duration
}

// ProgressFunc receives progress; it must not block.
type ProgressFunc func(Progress)

// Status lists ClickHouse's newest backup and restore operations.
func (s *Service) Status(ctx context.Context, limit int) ([]Operation, error) {
	ops, err := s.db.RecentOperations(ctx, limit)
	if err != nil {
		return nil, fmt.Errorf("read system.backups: %w", err)
	}
	return ops, nil
}
