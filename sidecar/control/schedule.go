package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/clickvault/clickvault/sidecar"
)

// scheduleLoop requests a backup of each configured database when its
// newest backup is incremental_every old. The request goes through the
// requests table like any other (requested_by is the sidecar's own user).
// With several sidecars, a conditional write per database and time slot
// lets exactly one of them make it.
func (s *Runner) scheduleLoop(ctx context.Context) error {
	every := min(max(s.opts.IncrementalEvery/10, time.Second), 30*time.Second)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		for _, db := range s.opts.Databases {
			if err := s.scheduleDatabase(ctx, db); err != nil && ctx.Err() == nil {
				s.logger.Warn("schedule a backup; will retry", "database", db, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (s *Runner) scheduleDatabase(ctx context.Context, database string) error {
	due, err := s.backupDue(ctx, database)
	if err != nil || !due {
		return err
	}
	slot := s.now().Unix() / int64(s.opts.IncrementalEvery.Seconds())
	key := s.layout.ControlKey("schedule", database, fmt.Sprint(slot))
	_, err = s.store.Put(ctx, key, []byte(s.opts.Instance), sidecar.PutCondition{IfNoneMatch: true})
	if errors.Is(err, sidecar.ErrPreconditionFailed) {
		return nil // another sidecar (or this one, earlier) took this slot
	}
	if err != nil {
		return fmt.Errorf("claim schedule slot: %w", err)
	}
	id, err := s.cp.InsertRequest(ctx, Request{Action: ActionBackup, Database: database, Kind: "auto"})
	if err != nil {
		return err
	}
	s.logger.Info("scheduled backup requested", "database", database, "request", id)
	return nil
}

// backupDue: no backup running or completed within incremental_every, and
// no backup request of the database waiting.
func (s *Runner) backupDue(ctx context.Context, database string) (bool, error) {
	cat, err := s.svc.Catalog(ctx, database)
	if err != nil {
		return false, err
	}
	for _, b := range cat.All() {
		if (b.Completed() || b.Status == sidecar.StatusCreating) && s.now().Sub(b.Time()) < s.opts.IncrementalEvery {
			return false, nil
		}
	}
	pending, err := s.cp.PendingRequests(ctx, s.now().Add(-24*time.Hour))
	if err != nil {
		return false, err
	}
	for _, p := range pending {
		if p.Action == ActionBackup && (p.Database == database || p.Database == "") {
			return false, nil
		}
	}
	return true, nil
}
