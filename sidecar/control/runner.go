// Package control is ClickVault's request runner: it reads requests from
// the SQL control plane, parses each once into a Job, admits it (fields and
// the requester's own grants), claims it among sidecars, runs it through
// the engine (package sidecar, by its exported API only) and answers it
// exactly once. It also keeps the catalog table in step with S3 and runs
// the schedule. Its ports (ControlPlane, Authorizer, Observer) are in
// ports.go; like the engine it imports no SDK.
package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// Options shape `clickvault serve`.
type Options struct {
	Instance         string // stable id of this sidecar: host and listen address
	OwnUser          string // the sidecar's ClickHouse user
	DefaultDatabase  string
	Databases        []string // backed up on the schedule
	Poll             time.Duration
	IncrementalEvery time.Duration // 0 = no scheduled backups
	CheckEvery       time.Duration // 0 = no scheduled checks
	AllowUsers       []string      // if set, only these users may make requests
	Workers          int           // requests executed at once (admission runs beside them)
	// ParallelBackups bounds the BACKUPs ClickHouse writes at once
	// (backup.parallel_databases; default Workers; see sidecar.Turns): a
	// backup request past it waits for a turn once planned, holding its
	// worker.
	ParallelBackups int
	// TableSets are the configured table sets of databases (include_tables
	// or exclude_tables); a database not here is backed up whole.
	TableSets map[string]model.TableSet
	// FaultPoint, when set, is called at named points ("claimed",
	// PointSchedulePass); only tests set it: the fault tests, to kill
	// the process there, and others to wait for a point to be reached.
	FaultPoint func(name string)
	// ProofKey signs and checks the rows the sidecar inserts itself (see
	// proof.go); without it no row gets the operator's exemptions.
	ProofKey []byte
	// ConfirmWait is how long a row the query logs cannot judge yet (its
	// INSERT not in query_log, or, for one that fired views, their rows
	// not in query_views_log) waits before it is rejected (default 30 s).
	ConfirmWait time.Duration
	// RequestRetention is how long rows of requests and request_log are
	// kept (default 90 days); the full rescan reads no further back.
	RequestRetention time.Duration
	// Sets, on a node of a cluster (cluster.name), makes each backup
	// request a set of the whole cluster; nil on a single server.
	Sets ClusterSets
	// CopyReaders are the [[copy]] targets a request's source may name (a
	// restore's or verify's source; a check's or cleanup's repository,
	// named in the same column), and a restore or verify falls back on;
	// nil = none.
	CopyReaders sidecar.CopyReaders
	// Mirrors, when set, are asks to mirror a database's backups table
	// soon (a copy round's); nil = none.
	Mirrors *MirrorRequests
	// SourceLookWithin bounds admission's look for a restore's or
	// verify's backup at each copy target (default 1 min).
	SourceLookWithin time.Duration
}

// base is what every part of the Runner shares: the engine, the control
// plane, the grants, the claims, the options, the observer, the log and the
// clock.
type base struct {
	svc    *sidecar.Service
	cp     ControlPlane
	auth   Authorizer
	kept   *keptGrants   // grants read for earlier checks, kept to refuse
	claims *coord.Claims // request claims, heartbeats, schedule slots
	opts   Options
	obs    Observer
	logger *slog.Logger
	now    func() time.Time
}

// fault calls the fault hook at a named point, if one is set.
func (s *base) fault(name string) {
	if s.opts.FaultPoint != nil {
		s.opts.FaultPoint(name)
	}
}

// Runner serves the SQL control plane: it reads requests, admits, runs and
// answers them, keeps the catalog table in step with S3, and runs the
// schedule. It keeps what requests are where (in flight, ended, another
// sidecar's, cancellable) and composes one part per responsibility, each on
// the shared base: admission (parse, fields, rights), the confirmations of
// rows by the query log, the executor, the rejections and the sidecars'
// liveness, the catalog mirror and the schedule.
type Runner struct {
	// Its parts, called by name rather than embedded, so that a Runner's
	// methods are its own (the shape test counts promoted methods too).
	base          *base
	admission     *admission
	confirmations *confirmations
	executor      *executor
	rejecter      *rejecter
	catalogMirror *catalogMirror
	scheduler     *scheduler

	// admitting bounds claims and admission checks running at once;
	// executing bounds requests executing at once. A request waiting for its
	// database holds neither, so new requests are picked up at once even
	// while others queue. mirroring bounds the full catalog mirrors after
	// backups' answers, which hold no worker.
	admitting chan struct{}
	executing chan struct{}
	mirroring chan struct{}

	mu       sync.Mutex
	inflight map[string]bool
	foreign  map[string]time.Time // requests another sidecar claimed: skip until then
	cancels  map[string]context.CancelFunc
	// running are requests past beginExecuting: a cancel no longer stops them.
	running map[string]bool
	// ended are requests this sidecar answered or a cancel stopped, with
	// when: they are never dispatched or begun here again, even when a read
	// of pending requests that began before their answer hands them on
	// (sessions run in parallel, so that read can be stale). Entries are
	// dropped after endedMemory.
	ended       map[string]time.Time
	endedPruned time.Time // when ended and foreign were last rid of old entries (memories.go)
	// endedPeak and foreignPeak are the most entries the maps held since
	// they were last rebuilt (shrunk).
	endedPeak, foreignPeak int
	// readingSince is when the poll loop's read of pending requests under
	// way began (zero: none is): no request ended after it is forgotten
	// until the read has handed its requests on.
	readingSince time.Time
	// admitRefusals counts, per request, admission checks ClickHouse refused.
	admitRefusals map[string]int
	// databaseTurns are the databases' turns (databaseTurn).
	databaseTurns map[string]*sync.Mutex
	started       atomic.Bool
}

// NewRunner wires the runner; claims are this sidecar's (opts.Instance's)
// on the engine's prefix; auth and obs may be nil.
func NewRunner(svc *sidecar.Service, claims *coord.Claims, cp ControlPlane, auth Authorizer, opts Options, obs Observer, logger *slog.Logger) *Runner {
	if obs == nil {
		obs = noObserver{}
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.ParallelBackups <= 0 {
		opts.ParallelBackups = opts.Workers
	}
	if opts.SourceLookWithin <= 0 {
		opts.SourceLookWithin = defaultSourceLookWithin
	}
	if opts.ConfirmWait <= 0 {
		opts.ConfirmWait = defaultConfirmWait
	}
	if opts.RequestRetention <= 0 {
		opts.RequestRetention = DefaultRequestRetention
	}
	b := &base{svc: svc, cp: cp, auth: auth, kept: newKeptGrants(), claims: claims, opts: opts, obs: obs,
		logger: logger.With("sidecar", opts.Instance), now: time.Now}
	s := &Runner{base: b, admission: &admission{base: b}, catalogMirror: &catalogMirror{base: b},
		scheduler: &scheduler{base: b, notBefore: map[scheduleKey]time.Time{}, noBackupToCheck: map[string]bool{},
			seenAhead: map[scheduleKey]map[string]time.Time{}, owed: map[scheduleKey]owedRequest{}},
		confirmations: &confirmations{base: b, confirmedAt: map[string]time.Time{}, firstUnconfirmed: map[string]time.Time{}},
		admitting:     make(chan struct{}, 8), executing: make(chan struct{}, opts.Workers), mirroring: make(chan struct{}, opts.Workers),
		inflight: map[string]bool{}, foreign: map[string]time.Time{}, cancels: map[string]context.CancelFunc{},
		running: map[string]bool{}, ended: map[string]time.Time{}, admitRefusals: map[string]int{}, databaseTurns: map[string]*sync.Mutex{}}
	s.rejecter = &rejecter{base: b, rejections: make(chan *rejection, rejectionQueue), markEnded: s.markEnded}
	s.executor = &executor{base: b, admission: s.admission, catalog: s.catalogMirror, cancel: s.executeCancel,
		turns: sidecar.NewTurns(opts.ParallelBackups)}
	return s
}

// Started reports whether the control plane is set up and requests are read.
func (s *Runner) Started() bool { return s.started.Load() }

// Run applies the DDL and serves until ctx ends. On cancel it stops taking
// requests; a backup still running in ClickHouse is left for the next start
// (or another sidecar) to adopt, so shutdown is quick and loses nothing.
func (s *Runner) Run(ctx context.Context) error {
	if err := s.base.cp.Init(ctx); err != nil {
		return fmt.Errorf("create the control tables: %w", err)
	}
	s.confirmations.warnViewsOnControlTables(ctx)
	if err := s.probeStore(ctx); err != nil {
		return err
	}
	s.started.Store(true)
	var workers errgroup.Group // one goroutine per request in flight; bounded by the semaphores
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.rejecter.heartbeatLoop(gctx) })
	g.Go(func() error { return s.rejecter.rejectLoop(gctx) })
	g.Go(func() error { return s.pollLoop(gctx, &workers) })
	g.Go(func() error { s.catalogMirror.mirrorAll(gctx, s.databaseTurn, s.base.opts.Mirrors); return nil })
	g.Go(func() error { return expireLoop(gctx, s.base, expireAfterStart, expireEvery) })
	if s.base.opts.Sets != nil {
		g.Go(func() error { return s.catalogMirror.setMirrorLoop(gctx) })
	}
	if s.base.opts.Mirrors != nil {
		g.Go(func() error { return s.catalogMirror.mirrorLoop(gctx, s.base.opts.Mirrors, s.databaseTurn) })
		g.Go(func() error {
			return s.catalogMirror.mirrorAskedLoop(gctx, s.base.opts.Mirrors, mirrorAsksEvery*max(s.base.opts.Poll, 100*time.Millisecond))
		})
	}
	if s.base.opts.IncrementalEvery > 0 || s.base.opts.CheckEvery > 0 {
		g.Go(func() error { return s.scheduler.scheduleLoop(gctx) })
	}
	err := g.Wait()
	_ = workers.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// probeStore probes the store's conditional writes and claims the prefix
// for this deployment before any request is taken, retrying every 5 s
// while S3 cannot be reached (readiness says not ready meanwhile); a store
// that ignores them, or a prefix another deployment owns, ends the sidecar.
func (s *Runner) probeStore(ctx context.Context) error {
	for {
		err := s.base.svc.ProbeAndClaim(ctx)
		if err == nil || errors.Is(err, coord.ErrNoConditionalWrites) || errors.Is(err, coord.ErrOtherDeployment) {
			return err
		}
		s.base.logger.Warn("probe the S3 store; will retry", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Second):
		}
	}
}

// dispatch starts handling a request not already being handled here, and
// reports whether it did.
func (s *Runner) dispatch(ctx context.Context, workers *errgroup.Group, p PendingRequest) bool {
	s.mu.Lock()
	_, ended := s.ended[p.ID]
	if ended || s.inflight[p.ID] || s.base.now().Before(s.foreign[p.ID]) {
		s.mu.Unlock()
		return false
	}
	delete(s.foreign, p.ID)
	s.inflight[p.ID] = true
	s.mu.Unlock()
	workers.Go(func() error {
		defer s.done(p.ID)
		s.handle(ctx, p)
		return nil
	})
	return true
}

// tryAcquire takes a slot of sem if one is free now.
func tryAcquire(sem chan struct{}) bool {
	select {
	case sem <- struct{}{}:
		return true
	default:
		return false
	}
}

// acquire takes a slot of sem, or gives up when ctx ends.
func acquire(ctx context.Context, sem chan struct{}) bool {
	select {
	case sem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Runner) done(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, id)
	delete(s.cancels, id)
	delete(s.running, id)
}

// turnDatabase is the database whose turn a request holds while it runs:
// a restore's target, which it creates and, failing, cleans (two restores
// into one database must not run at once, whatever their sources); any
// other request's own database.
func turnDatabase(r Job) string {
	if r.Action == ActionRestore && r.Target != "" {
		return r.Target
	}
	return r.Database
}

// databaseTurn is a database's turn in this sidecar: an in-process mutex
// that serialises this sidecar's work on the database, so two requests for
// it queue instead of failing on the lease. It is no lease (which holds a
// chain across processes, in S3) and no lock (S3 Object Lock); like any
// sync.Mutex, a request waiting for it cannot be woken before its turn.
func (s *Runner) databaseTurn(database string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.databaseTurns[database]
	if !ok {
		m = &sync.Mutex{}
		s.databaseTurns[database] = m
	}
	return m
}
