package sidecar

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar/model"
)

// sweeper removes, when serve starts, what killed verifies and restores
// left in ClickHouse, by their work records (restore_work.go): it reads
// them and undoes or finishes what they name with the works' own steps.
type sweeper struct {
	*engine
	works *works
}

// stale says why the sweep may remove what a record names, or "".
func (s *sweeper) stale(rec workRecord) string {
	age := storeNow(s.engine).Sub(rec.Heartbeat) // the heartbeat is stamped on the store's clock
	switch {
	case rec.Deployment != s.opts.Deployment:
		return ""
	case rec.Kind == workVerify && s.opts.Holder.Stable && rec.Holder == s.opts.Holder.Name && rec.Run != s.opts.Holder.Run:
		return "written by this sidecar before it restarted"
	case rec.Kind == workVerify && age > VerifyWorkStaleAfter:
		return fmt.Sprintf("heartbeat %s old", age.Round(time.Second))
	case rec.Kind == workRestore && rec.Abandoned == "" && age > RestoreWorkStaleAfter:
		return fmt.Sprintf("heartbeat %s old", age.Round(time.Second))
	}
	return ""
}

// SweepLeftovers removes what killed verifies and restores left in
// ClickHouse: a verify's scratch database, a replace's staging tables.
// Only records of this deployment whose heartbeat is stale are touched, and
// only names with the sidecar's own prefixes. A swept restore's record
// stays, marked abandoned, so that a late adoption says what happened; it
// is deleted once it is a day old.
func (s *sweeper) SweepLeftovers(ctx context.Context) {
	ids, err := s.bucket.WorkIDs(ctx)
	if err != nil {
		s.logger.Warn("list work records; nothing swept", "err", err)
		return
	}
	for _, id := range ids {
		rec, err := s.works.readWork(ctx, id)
		if err != nil {
			s.logger.Warn("read a work record; skipped", "operation", id, "err", err)
			continue
		}
		if rec.Abandoned != "" && storeNow(s.engine).Sub(rec.Heartbeat) > 24*time.Hour {
			_ = s.bucket.DeleteWork(ctx, id) // a day old: nothing adopts it any more; the next sweep tries again
			continue
		}
		why := s.stale(rec)
		if why == "" {
			continue
		}
		s.logger.Info("removing what a killed operation left", "kind", rec.Kind, "target", rec.Target, "why", why)
		if err := s.sweep(ctx, rec, why); err != nil {
			s.logger.Warn("remove what a killed operation left; will retry at the next start", "target", rec.Target, "err", err)
		}
	}
}

// sweep removes what one stale record names. A restore's is undone by its
// record (restore_undo.go), once ClickHouse no longer runs its RESTORE; a
// replace killed after every swap is finished instead (its old tables are
// dropped). The record stays, marked abandoned with what was done.
func (s *sweeper) sweep(ctx context.Context, rec workRecord, why string) error {
	if rec.Kind == workVerify {
		if !strings.HasPrefix(rec.Target, model.ScratchPrefix) {
			return fmt.Errorf("work record %s names %s, not a scratch database", rec.ID, rec.Target)
		}
		if err := s.db.DropDatabase(ctx, rec.Target); err != nil {
			return fmt.Errorf("drop scratch database %s: %w", rec.Target, err)
		}
		return s.bucket.DeleteWork(ctx, rec.ID)
	}
	op, err := s.db.Operation(ctx, rec.ID)
	switch {
	case err == nil && !operationEnded(op.Status):
		return fmt.Errorf("its RESTORE %s still runs in ClickHouse", rec.ID)
	case err == nil:
		claims, dbUUID, err := s.works.restoredBy(ctx, rec, op)
		if err != nil {
			return err
		}
		for name, id := range claims {
			rec.claim(name, id)
		}
		rec.DatabaseUUID = cmp.Or(rec.DatabaseUUID, dbUUID)
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("look for its RESTORE %s: %w", rec.ID, err)
	}
	// Marked before the first drop: an undo that stops half-way (a drop
	// refused, the time up) is then never adopted as a restore that
	// completed — the adoption finishes the undo instead — and the next
	// start's sweep goes on with it.
	rec.Undoing = "the sidecar stopped during the restore (" + why + ")"
	if err := s.bucket.WriteWork(ctx, rec.ID, rec); err != nil {
		return fmt.Errorf("mark work record %s as being undone: %w", rec.ID, err)
	}
	what, err := s.works.settleAbandoned(ctx, rec)
	if err != nil {
		return err
	}
	rec.Abandoned = rec.Undoing + ": " + what
	return s.bucket.WriteWork(ctx, rec.ID, rec)
}
