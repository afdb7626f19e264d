package control

import (
	"context"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// scheduler makes the sidecar's own backup and check requests on time.
type scheduler struct{ *base }

// scheduleLoop requests a backup of each configured database when its
// newest backup is incremental_every old. The request goes through the
// requests table like any other (requested_by is the sidecar's own user).
// With several sidecars, a conditional write per database and time slot
// lets exactly one of them make it.
func (s *scheduler) scheduleLoop(ctx context.Context) error {
	shortest := s.opts.IncrementalEvery
	if shortest == 0 || (s.opts.CheckEvery > 0 && s.opts.CheckEvery < shortest) {
		shortest = s.opts.CheckEvery
	}
	tick := time.NewTicker(min(max(shortest/10, time.Second), 30*time.Second))
	defer tick.Stop()
	for {
		for _, db := range s.opts.Databases {
			if s.opts.IncrementalEvery <= 0 {
				break
			}
			if err := s.scheduleDatabase(ctx, db); err != nil && ctx.Err() == nil {
				s.logger.Warn("schedule a backup; will retry", "database", db, "err", err)
			}
		}
		for _, db := range s.opts.Databases {
			if s.opts.CheckEvery <= 0 {
				break
			}
			if err := s.scheduleCheck(ctx, db); err != nil && ctx.Err() == nil {
				s.logger.Warn("schedule a check; will retry", "database", db, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (s *scheduler) scheduleDatabase(ctx context.Context, database string) error {
	due, err := s.backupDue(ctx, database)
	if err != nil || !due {
		return err
	}
	return s.requestInSlot(ctx, coord.BackupSchedule, s.opts.IncrementalEvery, Request{Action: ActionBackup, Database: database, Kind: "auto"})
}

// requestInSlot inserts r as the sidecar's own request, once per slot of
// every of the schedule: the sidecar that takes the slot (coord.Claims.TakeSlot)
// makes it.
func (s *scheduler) requestInSlot(ctx context.Context, schedule coord.Schedule, every time.Duration, r Request) error {
	took, err := s.claims.TakeSlot(ctx, schedule, r.Database, every)
	if err != nil || !took {
		return err
	}
	id, err := s.cp.InsertRequest(ctx, r)
	if err != nil {
		return err
	}
	s.logger.Info("scheduled request made", "action", r.Action, "database", r.Database, "request", id)
	return nil
}

// waiting reports whether a request of action for database (or for the
// default database) that the sidecar made itself waits to be answered.
func (s *scheduler) waiting(ctx context.Context, action Action, database string) (bool, error) {
	pending, err := s.cp.PendingRequests(ctx, s.now().Add(-24*time.Hour))
	if err != nil {
		return false, err
	}
	for _, p := range pending {
		// Only the sidecar's own rows count: a flood of rows from a user
		// with only INSERT must not hold the schedule back.
		if !s.operator(p.Request) {
			continue
		}
		if p.Action == action && (p.Database == database || p.Database == "") {
			return true, nil
		}
	}
	return false, nil
}

// backupDue: no backup running or completed within incremental_every, and
// no backup request of the database waiting.
func (s *scheduler) backupDue(ctx context.Context, database string) (bool, error) {
	cat, err := s.svc.Catalog(ctx, database)
	if err != nil {
		return false, err
	}
	for _, b := range cat.All() {
		if (b.Completed() || b.Status == model.StatusCreating) && s.now().Sub(b.Time()) < s.opts.IncrementalEvery {
			return false, nil
		}
	}
	waits, err := s.waiting(ctx, ActionBackup, database)
	return !waits && err == nil, err
}

// scheduleCheck requests a check of a database whose backups were last
// checked check_every ago (or never), like scheduleDatabase does backups.
func (s *scheduler) scheduleCheck(ctx context.Context, database string) error {
	due, err := s.checkDue(ctx, database)
	if err != nil || !due {
		return err
	}
	return s.requestInSlot(ctx, coord.CheckSchedule, s.opts.CheckEvery, Request{Action: ActionCheck, Database: database})
}

// checkDue: the database has a completed backup, its last check is
// check_every old or there is none, and no check of it waits.
func (s *scheduler) checkDue(ctx context.Context, database string) (bool, error) {
	cat, err := s.svc.Catalog(ctx, database)
	if err != nil {
		return false, err
	}
	if _, ok := cat.NewestCompleted(time.Time{}); !ok {
		return false, nil
	}
	results, err := s.svc.Results(ctx, database)
	if err != nil {
		return false, err
	}
	for _, c := range results.Checks {
		if s.now().Sub(c.CheckedAt) < s.opts.CheckEvery {
			return false, nil
		}
	}
	waits, err := s.waiting(ctx, ActionCheck, database)
	return !waits && err == nil, err
}
