package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// SidecarOptions shape `clickvault serve`.
type SidecarOptions struct {
	Instance         string // stable id of this sidecar: host and listen address
	OwnUser          string // the sidecar's ClickHouse user
	DefaultDatabase  string
	Databases        []string // backed up on the schedule
	Poll             time.Duration
	IncrementalEvery time.Duration // 0 = no schedule
	AllowUsers       []string      // if set, only these users may make requests
	Workers          int           // requests executed at once (admission runs beside them)
}

// Observer is told what happens, for metrics. Methods must not block.
type Observer interface {
	RequestState(action, state string)
	BackupFinished(database, kind string, ok bool, took time.Duration, size uint64)
	ChainDepth(database string, depth int)
}

type noObserver struct{}

func (noObserver) RequestState(string, string)                                {}
func (noObserver) BackupFinished(string, string, bool, time.Duration, uint64) {}
func (noObserver) ChainDepth(string, int)                                     {}

// Sidecar serves the SQL control plane: it reads requests, admits, runs and
// answers them, keeps the catalog table in step with S3, and runs the
// schedule.
type Sidecar struct {
	svc    *Service
	cp     ControlPlane
	auth   Authorizer
	store  ObjectStore
	layout Layout
	opts   SidecarOptions
	obs    Observer
	logger *slog.Logger
	now    func() time.Time

	// admitting bounds claims and admission checks running at once;
	// executing bounds requests executing at once. A request waiting for its
	// database holds neither, so new requests are picked up at once even
	// while others queue.
	admitting chan struct{}
	executing chan struct{}

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
	endedPruned time.Time // when ended was last rid of old entries
	// admitRefusals counts, per request, admission checks ClickHouse refused.
	admitRefusals map[string]int
	// live are the sidecars whose heartbeats were fresh at the last look;
	// rejections are shared among them (ownsRejection).
	live []string
	// rejections wait here for rejectLoop to write them in batches.
	rejections chan rejection
	dbLocks    map[string]*sync.Mutex
	started    atomic.Bool
}

// NewSidecar wires the runner; auth and obs may be nil.
func NewSidecar(svc *Service, cp ControlPlane, auth Authorizer, opts SidecarOptions, obs Observer, logger *slog.Logger) *Sidecar {
	if obs == nil {
		obs = noObserver{}
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	return &Sidecar{svc: svc, cp: cp, auth: auth, store: svc.store, layout: svc.layout, opts: opts, obs: obs,
		logger: logger.With("sidecar", opts.Instance), now: time.Now,
		admitting: make(chan struct{}, 8), executing: make(chan struct{}, opts.Workers),
		inflight: map[string]bool{}, foreign: map[string]time.Time{}, cancels: map[string]context.CancelFunc{},
		running: map[string]bool{}, ended: map[string]time.Time{}, admitRefusals: map[string]int{}, dbLocks: map[string]*sync.Mutex{},
		rejections: make(chan rejection, rejectionQueue)}
}

// Started reports whether the control plane is set up and requests are read.
func (s *Sidecar) Started() bool { return s.started.Load() }

// Run applies the DDL and serves until ctx ends. On cancel it stops taking
// requests; a backup still running in ClickHouse is left for the next start
// (or another sidecar) to adopt, so shutdown is quick and loses nothing.
func (s *Sidecar) Run(ctx context.Context) error {
	if err := s.cp.Init(ctx); err != nil {
		return fmt.Errorf("create the control tables: %w", err)
	}
	if err := s.probeStore(ctx); err != nil {
		return err
	}
	s.started.Store(true)
	var workers errgroup.Group // one goroutine per request in flight; bounded by the semaphores
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.heartbeatLoop(gctx) })
	g.Go(func() error { return s.rejectLoop(gctx) })
	g.Go(func() error { return s.pollLoop(gctx, &workers) })
	g.Go(func() error { s.mirrorAll(gctx); return nil })
	if s.opts.IncrementalEvery > 0 {
		g.Go(func() error { return s.scheduleLoop(gctx) })
	}
	err := g.Wait()
	_ = workers.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// probeStore checks the store's conditional writes and the prefix's owner
// before any request is taken, retrying every 5 s while S3 cannot be
// reached (readiness says not ready meanwhile); a store that ignores them,
// or a prefix another deployment owns, ends the sidecar.
func (s *Sidecar) probeStore(ctx context.Context) error {
	for {
		err := s.svc.CheckStore(ctx)
		if err == nil || errors.Is(err, ErrNoConditionalWrites) || errors.Is(err, ErrOtherDeployment) {
			return err
		}
		s.logger.Warn("check the S3 store; will retry", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Second):
		}
	}
}

// fullRescanEvery bounds how long an unanswered old request can go unseen;
// between rescans only the last hour of requests is read.
const fullRescanEvery = 5 * time.Minute

// probesPerPoll is how many times per poll interval the sidecar counts the
// requests (count() from part metadata, no rows read) and reads the table
// at once if the count changed. It brings pickup well under the interval
// without reading the control table more often when nothing arrives.
const probesPerPoll = 10

// activeProbesPerPoll is the rate for activeFor after a request arrived:
// requests come in runs (a script's backup then verify, someone trying
// things), and the next of a run is picked up sooner, while an idle
// sidecar keeps the lower rate and its small CPU cost.
const (
	activeProbesPerPoll = 20
	activeFor           = time.Minute
)

// minProbeEvery keeps a very short poll interval from turning the probe
// into a busy loop.
const minProbeEvery = 20 * time.Millisecond

// probePauseAfter is the pause after a probe, sinceArrival after the last
// request arrived.
func probePauseAfter(poll, sinceArrival time.Duration) time.Duration {
	if sinceArrival < activeFor {
		return max(poll/activeProbesPerPoll, minProbeEvery)
	}
	return max(poll/probesPerPoll, minProbeEvery)
}

func (s *Sidecar) pollLoop(ctx context.Context, workers *errgroup.Group) error {
	var lastRead, lastFull, lastArrival time.Time
	more := false // the last read was cut at its bounds and found new work: read again soon
	probe := requestsProbe{cp: s.cp, logger: s.logger}
	for {
		// The count is taken before the read, so a request inserted in
		// between changes it again and is read on the next probe.
		firstLook := !probe.counted
		changed := probe.changed(ctx)
		if changed && !firstLook {
			lastArrival = s.now()
		}
		if changed || more || s.now().Sub(lastRead) >= s.opts.Poll {
			lastRead = s.now()
			more = s.readRequests(ctx, workers, &lastFull)
		}
		// The pause starts after the probe, not on a ticker: when a backup
		// keeps the server busy its answers are slow, and a ticker would
		// then send probes back to back and slow the backup down.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(probePauseAfter(s.opts.Poll, s.now().Sub(lastArrival))):
		}
	}
}

// readRequests reads the pending requests and dispatches each. It reports
// whether the read was cut at its bounds (PendingPerRead in all, or
// PendingPerRequester of one requester) and still found requests not yet
// handled: then more are waiting, and the next read comes soon.
func (s *Sidecar) readRequests(ctx context.Context, workers *errgroup.Group, lastFull *time.Time) bool {
	since := s.now().Add(-time.Hour)
	if s.now().Sub(*lastFull) >= fullRescanEvery {
		since, *lastFull = time.Time{}, s.now()
	}
	pending, err := s.cp.PendingRequests(ctx, since)
	if err != nil && ctx.Err() == nil {
		s.logger.Warn("read requests; will retry", "err", err)
	}
	perRequester := map[string]int{}
	cut, fresh := len(pending) >= PendingPerRead, false
	for _, p := range pending {
		if perRequester[p.RequestedBy]++; perRequester[p.RequestedBy] >= PendingPerRequester {
			cut = true
		}
		if s.dispatch(ctx, workers, p) {
			fresh = true
		}
	}
	return cut && fresh
}

// requestsProbe tells whether the number of requests changed since it last
// looked. If counting fails it says "unchanged" for a while, and the sidecar
// reads every poll interval meanwhile.
type requestsProbe struct {
	cp       ControlPlane
	logger   *slog.Logger
	count    uint64
	counted  bool
	pausedAt time.Time
}

// probePause is how long a failed probe is not retried.
const probePause = 10 * time.Second

func (p *requestsProbe) changed(ctx context.Context) bool {
	if !p.pausedAt.IsZero() && time.Since(p.pausedAt) < probePause {
		return false
	}
	n, err := p.cp.RequestCount(ctx)
	if err != nil {
		if ctx.Err() == nil {
			p.logger.Warn("count requests; reading them every poll_interval meanwhile", "err", err)
		}
		p.pausedAt = time.Now()
		return false
	}
	changed := !p.counted || n != p.count
	p.count, p.counted = n, true
	return changed
}

// dispatch starts handling a request not already being handled here, and
// reports whether it did.
func (s *Sidecar) dispatch(ctx context.Context, workers *errgroup.Group, p PendingRequest) bool {
	s.mu.Lock()
	_, ended := s.ended[p.ID]
	if ended || s.inflight[p.ID] || s.now().Before(s.foreign[p.ID]) {
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

func (s *Sidecar) done(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, id)
	delete(s.cancels, id)
	delete(s.running, id)
}

// dbLock serialises this sidecar's work on one database, so two requests
// for it queue instead of failing on the lease.
func (s *Sidecar) dbLock(database string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.dbLocks[database]
	if !ok {
		m = &sync.Mutex{}
		s.dbLocks[database] = m
	}
	return m
}

// record appends a state change of a request to request_log.
func (s *Sidecar) record(ctx context.Context, r Request, state string, e LogEntry) {
	s.write(ctx, r, state, e)
	s.obs.RequestState(r.Action, state)
}

// logEntry fills in e's request, state, sidecar and (if unset) time.
func (s *Sidecar) logEntry(r Request, state string, e LogEntry) LogEntry {
	e.RequestID, e.Action, e.Database, e.State, e.Sidecar = r.ID, r.Action, r.Database, state, s.opts.Instance
	if e.At.IsZero() {
		e.At = s.now().UTC()
	}
	return e
}

func (s *Sidecar) write(ctx context.Context, r Request, state string, e LogEntry) {
	e = s.logEntry(r, state, e)
	if Terminal(state) {
		// The answer must be written even while shutting down.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
	}
	if err := s.cp.AppendLog(ctx, e); err != nil {
		if ctx.Err() == nil {
			s.logger.Error("record request state", "request", r.ID, "state", state, "err", err)
		}
		return
	}
	if Terminal(state) {
		s.markEnded(r.ID)
	}
}

// endedMemory is how long an ended request is remembered: far longer than a
// read of pending requests that began before its answer takes to hand it on.
const endedMemory = 10 * time.Minute

// markEnded remembers that id has its answer (or was cancelled), and
// forgets the ids remembered for longer than endedMemory.
func (s *Sidecar) markEnded(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.markEndedLocked(id)
}

func (s *Sidecar) markEndedLocked(id string) {
	delete(s.admitRefusals, id)
	now := s.now()
	// Forgetting walks the whole memory, so it runs at most once a minute:
	// a flood marks thousands of requests ended in a few seconds.
	if now.Sub(s.endedPruned) > time.Minute {
		for old, at := range s.ended {
			if now.Sub(at) > endedMemory {
				delete(s.ended, old)
			}
		}
		s.endedPruned = now
	}
	s.ended[id] = now
}

// foreignFor is how long a request claimed by another live sidecar is left
// alone before its claim is looked at again (the owner may die meanwhile).
const foreignFor = heartbeatTTL / 2

// markForeign notes that another sidecar runs the request.
func (s *Sidecar) markForeign(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.foreign[id] = s.now().Add(foreignFor)
}
