package control

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// scheduler makes the sidecar's own backup and check requests on time.
type scheduler struct {
	*base
	// notBefore is, per schedule and database, when the next request can
	// be due at the earliest: the newest backup (or check) seen plus its
	// interval. Until then a pass reads nothing of the database — with a
	// thousand databases, a pass that read every catalog every 30 s cost
	// two thousand S3 LISTs. It only ever says "later": a backup deleted
	// meanwhile is seen when that time comes. A pass works on several
	// databases at once: mu guards it.
	mu        sync.Mutex
	notBefore map[scheduleKey]time.Time
	// noBackupToCheck are the databases whose check waits for their
	// first completed backup (checkDue, checkAfterBackup).
	noBackupToCheck map[string]bool
	// owed are the slots' requests whose INSERT failed (insertOwed).
	owed map[scheduleKey]owedRequest
	// seenAhead is, per schedule and database, the backups (or last
	// checks) dated ahead of this clock, by name, with when each was
	// first seen (madeAt).
	seenAhead map[scheduleKey]map[string]time.Time
}

// scheduleKey is one schedule of one database.
type scheduleKey struct {
	schedule coord.Schedule
	database string
}

// scheduleLoop requests a backup of each configured database when its
// newest backup is incremental_every old, and a check when its last check
// is check_every old. The request goes through the requests table like
// any other (requested_by is the sidecar's own user). With several
// sidecars, a conditional write per database and time slot lets exactly
// one of them make it. Each pass reads the requests waiting once for every
// database (a round of a thousand databases sent a thousand such reads to
// ClickHouse), and a database's catalog only when a request can be due
// (mayBeDue).
func (s *scheduler) scheduleLoop(ctx context.Context) error {
	shortest := s.opts.IncrementalEvery
	if shortest == 0 || (s.opts.CheckEvery > 0 && s.opts.CheckEvery < shortest) {
		shortest = s.opts.CheckEvery
	}
	tick := time.NewTicker(min(max(shortest/10, time.Second), 30*time.Second))
	defer tick.Stop()
	for {
		s.schedulePass(ctx)
		s.fault(PointSchedulePass)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// PointSchedulePass is the fault point reached after each pass of the
// schedule: a test counts passes by it instead of sleeping.
const PointSchedulePass = "schedule-pass"

// databasesAtOnce bounds the databases a pass works on at once: each
// costs a few round trips (its catalog, the slot's conditional write, the
// request's INSERT), and one after the other a pass of a thousand took
// 80 s before the last backup was even asked for.
const databasesAtOnce = 8

// schedulePass makes one pass over the databases, in the configuration's
// order, databasesAtOnce at a time.
func (s *scheduler) schedulePass(ctx context.Context) {
	pass := &schedulePass{scheduler: s}
	var g errgroup.Group
	g.SetLimit(databasesAtOnce)
	for _, db := range s.opts.Databases {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			s.scheduleDatabase(ctx, pass, db)
			return nil // a database's failure is logged; the others go on
		})
	}
	_ = g.Wait()
}

// schedulePass is one pass of the schedule over the databases: what it
// reads once for all of them.
type schedulePass struct {
	*scheduler
	mu      sync.Mutex // the databases of a pass are scheduled at once
	read    bool
	pending []PendingRequest
	err     error
}

// ownPending is the requests waiting that the sidecar made itself, read
// once per pass. Only the sidecar's own rows count: a flood of rows from a
// user with only INSERT must not hold the schedule back.
func (p *schedulePass) ownPending(ctx context.Context) ([]PendingRequest, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.read {
		var all []PendingRequest
		// A failed read fails the pass's every database alike; the next
		// pass reads again.
		all, p.err = p.cp.PendingRequests(ctx, p.now().Add(-24*time.Hour))
		p.read = true
		for _, r := range all {
			if p.operator(r.Request) {
				p.pending = append(p.pending, r)
			}
		}
	}
	return p.pending, p.err
}

// waiting reports whether a request of action for database (or for the
// default database) that the sidecar made itself waits to be answered.
func (p *schedulePass) waiting(ctx context.Context, action Action, database string) (bool, error) {
	pending, err := p.ownPending(ctx)
	if err != nil {
		return false, err
	}
	for _, r := range pending {
		// "" is the default database: it waits for that one alone (a
		// request of it, queued or running for hours, held back every
		// database).
		if r.Action == action && (r.Database == database || (r.Database == "" && database == p.opts.DefaultDatabase)) {
			return true, nil
		}
	}
	return false, nil
}

// scheduleDatabase requests what is due of database: a backup, a check.
// A failure is logged and tried again on the next pass.
func (s *scheduler) scheduleDatabase(ctx context.Context, pass *schedulePass, database string) {
	backup := s.opts.IncrementalEvery > 0 && s.mayBeDue(ctx, pass, coord.BackupSchedule, ActionBackup, database)
	check := s.opts.CheckEvery > 0 && s.mayBeDue(ctx, pass, coord.CheckSchedule, ActionCheck, database)
	if !backup && !check {
		return
	}
	cat, err := s.svc.Catalog(ctx, database)
	if err != nil {
		if ctx.Err() == nil {
			s.logger.Warn("schedule a backup or check; will retry", "database", database, "err", err)
		}
		return
	}
	if backup {
		if err := s.scheduleBackup(ctx, pass, cat); err != nil && ctx.Err() == nil {
			s.logger.Warn("schedule a backup; will retry", "database", database, "err", err)
		}
	}
	if check {
		if err := s.scheduleCheck(ctx, pass, cat); err != nil && ctx.Err() == nil {
			s.logger.Warn("schedule a check; will retry", "database", database, "err", err)
		}
	}
}

// mayBeDue reports whether a request of schedule can be due for database
// now, before its catalog is read: not while one it made waits (the pass
// read those once for all databases), nor before notBefore. A failed read
// of the waiting requests leaves it to the catalog's reading, as before.
func (s *scheduler) mayBeDue(ctx context.Context, pass *schedulePass, schedule coord.Schedule, action Action, database string) bool {
	s.mu.Lock()
	later := s.now().Before(s.notBefore[scheduleKey{schedule, database}])
	s.mu.Unlock()
	if later {
		return false
	}
	waits, err := pass.waiting(ctx, action, database)
	return err != nil || !waits
}

// madeAt is when a backup or check dated at counts as made, seen at now
// (key and name say which): at, or, for one dated ahead of now (a clock
// that ran ahead dated it), when this sidecar first saw it. Counted from
// its date, the schedule stayed silent till then. Each is remembered by
// name (one memory for all of them took turns at being made now).
func (s *scheduler) madeAt(key scheduleKey, name string, at, now time.Time) time.Time {
	if !at.After(now) {
		return at
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := s.seenAhead[key]
	if seen == nil || len(seen) >= maxSeenAhead {
		seen = map[string]time.Time{} // a bound: past it, those dated ahead count from now again
		s.seenAhead[key] = seen
	}
	first, ok := seen[name]
	if !ok {
		first = now
		seen[name] = now
	}
	return first
}

// maxSeenAhead bounds the backups dated ahead madeAt remembers for one
// schedule and database.
const maxSeenAhead = 256

// checkAfterBackup forgets when database's check could be due, which
// checkDue set to wait for its first completed backup: one has.
func (s *scheduler) checkAfterBackup(database string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.noBackupToCheck[database] {
		delete(s.notBefore, scheduleKey{coord.CheckSchedule, database})
		delete(s.noBackupToCheck, database)
	}
}

// dueAgainAt notes that schedule's next request for database can be due
// no sooner than at.
func (s *scheduler) dueAgainAt(schedule coord.Schedule, database string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notBefore[scheduleKey{schedule, database}] = at
}

func (s *scheduler) scheduleBackup(ctx context.Context, pass *schedulePass, cat model.Catalog) error {
	due, err := s.backupDue(ctx, pass, cat)
	if err != nil || !due {
		return err
	}
	return s.requestInSlot(ctx, coord.BackupSchedule, s.opts.IncrementalEvery, Request{Action: ActionBackup, Database: cat.Database, Kind: "auto"})
}

// requestInSlot inserts r as the sidecar's own request, once per slot of
// every of the schedule: the sidecar that takes the slot (coord.Claims.TakeSlot)
// makes it.
func (s *scheduler) requestInSlot(ctx context.Context, schedule coord.Schedule, every time.Duration, r Request) error {
	key := scheduleKey{schedule, r.Database}
	if o, ok := s.owedFor(key); ok {
		return s.insertOwed(ctx, key, o)
	}
	tried := s.now()
	took, slot, err := s.claims.TakeSlot(ctx, schedule, r.Database, every)
	if err != nil {
		return err
	}
	// Taken by the request made below, or before (whose request failed,
	// or waits where this pass cannot see it), the slot can have no other
	// request: the passes till the next read nothing of the database (a
	// failing database had its catalog read and the slot tried at every
	// pass: three S3 requests). A backup that completes moves it on
	// (recentBackup).
	slotEnds := tried.Add(slot.EndsIn)
	if !took {
		s.dueAgainAt(schedule, r.Database, slotEnds)
		return nil
	}
	r.ID = uuid.NewString() // the slot's request keeps it (insertOwed)
	return s.insertOwed(ctx, key, owedRequest{r: r, until: slotEnds})
}

// owedRequest is a slot's request whose INSERT failed, owed till the slot
// ends.
type owedRequest struct {
	r     Request
	until time.Time
}

// owedFor is the request owed for key, if its slot has not ended.
func (s *scheduler) owedFor(key scheduleKey) (owedRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.owed[key]
	if ok && !s.now().Before(o.until) {
		delete(s.owed, key)
		return o, false
	}
	return o, ok
}

// insertOwed inserts a slot's request. One that fails is owed, and
// inserted again by the next pass that finds it due, under the same id,
// till its slot ends: a row that did land (an error after the server
// stored it) is read once, as the first row of an id is the request, and
// one that did not is made (given up, the slot had no request till the
// next).
func (s *scheduler) insertOwed(ctx context.Context, key scheduleKey, o owedRequest) error {
	id, err := s.cp.InsertRequest(ctx, o.r)
	s.mu.Lock()
	if err != nil {
		s.owed[key] = o
	} else {
		delete(s.owed, key)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.dueAgainAt(key.schedule, key.database, o.until)
	s.logger.Info("scheduled request made", "action", o.r.Action, "database", o.r.Database, "request", id)
	return nil
}

// backupDue: no backup running or completed within incremental_every, and
// no backup request of the database waiting.
func (s *scheduler) backupDue(ctx context.Context, pass *schedulePass, cat model.Catalog) (bool, error) {
	if s.recentBackup(cat) {
		return false, nil
	}
	waits, err := pass.waiting(ctx, ActionBackup, cat.Database)
	return !waits && err == nil, err
}

// recentBackup reports whether cat has a backup running or completed
// within incremental_every; a completed one says when the next can be due
// (dueAgainAt). A backup's request shows it the catalog the backup wrote,
// so the passes after its answer do not read the database again.
func (s *scheduler) recentBackup(cat model.Catalog) bool {
	if s.opts.IncrementalEvery <= 0 {
		return false
	}
	key, now := scheduleKey{coord.BackupSchedule, cat.Database}, s.now()
	for _, b := range cat.All() {
		if !b.Completed() && b.Status != model.StatusCreating {
			continue
		}
		if made := s.madeAt(key, b.Name, b.Time(), now); now.Sub(made) < s.opts.IncrementalEvery {
			if b.Completed() { // a running one may fail: its database is read again on the next pass
				s.dueAgainAt(coord.BackupSchedule, cat.Database, made.Add(s.opts.IncrementalEvery))
				s.checkAfterBackup(cat.Database)
			}
			return true
		}
	}
	return false
}

// scheduleCheck requests a check of a database whose backups were last
// checked check_every ago (or never), like scheduleBackup does backups.
func (s *scheduler) scheduleCheck(ctx context.Context, pass *schedulePass, cat model.Catalog) error {
	due, err := s.checkDue(ctx, pass, cat)
	if err != nil || !due {
		return err
	}
	return s.requestInSlot(ctx, coord.CheckSchedule, s.opts.CheckEvery, Request{Action: ActionCheck, Database: cat.Database})
}

// checkDue: the database has a completed backup, its last check is
// check_every old or there is none, and no check of it waits.
func (s *scheduler) checkDue(ctx context.Context, pass *schedulePass, cat model.Catalog) (bool, error) {
	if _, ok := cat.NewestCompleted(time.Time{}); !ok {
		// Nothing to check before a backup completes: not before the
		// backup schedule's next slot (a backup answered here sooner says
		// so: recentBackup). Each pass read the catalog of a database
		// whose backups fail, for its check.
		s.mu.Lock()
		next := s.now().Add(s.opts.CheckEvery) // a backup from elsewhere (the CLI) is seen by then
		if backupDue := s.notBefore[scheduleKey{coord.BackupSchedule, cat.Database}]; !backupDue.IsZero() && backupDue.Before(next) {
			next = backupDue
		}
		s.notBefore[scheduleKey{coord.CheckSchedule, cat.Database}] = next
		s.noBackupToCheck[cat.Database] = true
		s.mu.Unlock()
		return false, nil
	}
	results, err := s.svc.Results(ctx, cat.Database)
	if err != nil {
		return false, err
	}
	var last time.Time
	for _, c := range results.Checks {
		if c.CheckedAt.After(last) {
			last = c.CheckedAt
		}
	}
	now := s.now()
	if made := s.madeAt(scheduleKey{coord.CheckSchedule, cat.Database}, last.String(), last, now); now.Sub(made) < s.opts.CheckEvery {
		s.dueAgainAt(coord.CheckSchedule, cat.Database, made.Add(s.opts.CheckEvery))
		return false, nil
	}
	waits, err := pass.waiting(ctx, ActionCheck, cat.Database)
	return !waits && err == nil, err
}
