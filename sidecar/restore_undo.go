package sidecar

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// What a failed restore removes is what its work record says it created,
// by UUID: ClickHouse keeps an object's UUID for its life, so a table or a
// database someone else put under the same name (a person, another
// restore, another sidecar) has another one and is never dropped. The
// record learns the UUIDs as soon as the evidence allows:
//   - the database a partial restore creates, right after its CREATE
//     DATABASE (never IF NOT EXISTS: one that exists is someone else's);
//   - what a RESTORE created, once it has ended (claimRestored). It runs
//     with create_table = 'create' (and create_database = 'create' when it
//     creates the database), so a name someone else took first makes it
//     fail instead of being written into. Its tables are those of the
//     names it was given whose definition was written while it ran; after
//     it failed on a name that existed, none is claimed (nothing tells them
//     apart) and the undo leaves them for a person, naming them;
//   - a refreshable view created stopped, right after its CREATE.
// A staging table is the restore's by its name (it carries the operation's
// id) until it is checked, then by its UUID; after a swap its name holds
// the original table, which an undo never drops.

// claimDatabase records the UUID of the database this restore has just
// created.
func (s *works) claimDatabase(ctx context.Context, w *work) {
	target := w.record().Target
	objects, err := s.ops.Objects(ctx, target)
	if err == nil && objects.UUID == "" {
		err = fmt.Errorf("database %s: %w", target, ErrNotFound)
	}
	if err != nil {
		s.logger.Warn("read the uuid of the database this restore created; a failure now leaves it for a person",
			"database", target, "err", err)
		return
	}
	s.keepClaims(ctx, w, func(r *workRecord) { r.DatabaseUUID = objects.UUID })
}

// claimView records a view the sidecar created stopped; err is what its
// CREATE returned: one that failed because the name was taken is not ours.
func (s *works) claimView(ctx context.Context, w *work, view string, err error) {
	if err != nil && strings.Contains(err.Error(), "ALREADY_EXISTS") {
		return
	}
	objects, err := s.ops.Objects(ctx, w.record().Target)
	if o, ok := objects.Tables[view]; err == nil && ok {
		s.keepClaims(ctx, w, func(r *workRecord) { r.claim(view, o.UUID) })
	}
}

// claimRestored records what the RESTORE of w created, once it has ended
// (op, as system.backups has it).
func (s *works) claimRestored(ctx context.Context, w *work, op Operation) {
	rec := w.record()
	claims, dbUUID, err := s.restoredBy(ctx, rec, op)
	if err != nil {
		s.logger.Warn("read what the restore created; a failure now leaves it for a person", "target", rec.Target, "err", err)
		return
	}
	if len(claims) > 0 || dbUUID != "" {
		s.keepClaims(ctx, w, func(r *workRecord) {
			for name, id := range claims {
				r.claim(name, id)
			}
			if dbUUID != "" {
				r.DatabaseUUID = dbUUID
			}
		})
	}
}

// restoredBy reads what op, rec's RESTORE, created and rec does not claim
// yet: its tables (by name), and the database when the RESTORE created it.
func (s *works) restoredBy(ctx context.Context, rec workRecord, op Operation) (map[string]string, string, error) {
	if !operationEnded(op.Status) || strings.Contains(op.Error, "DATABASE_ALREADY_EXISTS") {
		return nil, "", nil // still running, or it created nothing: the database was someone else's
	}
	objects, err := s.ops.Objects(ctx, rec.Target)
	if err != nil {
		return nil, "", err
	}
	dbUUID := ""
	if rec.CreatedDatabase && rec.DatabaseUUID == "" {
		dbUUID = objects.UUID // create_database = 'create': it is the RESTORE's
	}
	if strings.Contains(op.Error, "TABLE_ALREADY_EXISTS") {
		return nil, dbUUID, nil
	}
	from, to := op.StartTime.Truncate(time.Second), op.EndTime
	claims := map[string]string{}
	for _, name := range rec.Created {
		o, ok := objects.Tables[name]
		if ok && rec.CreatedUUIDs[name] == "" && !slices.Contains(rec.Stopped, name) &&
			!o.Modified.Before(from) && !o.Modified.After(to) {
			claims[name] = o.UUID
		}
	}
	return claims, dbUUID, nil
}

func (s *works) keepClaims(ctx context.Context, w *work, change func(*workRecord)) {
	if err := w.update(ctx, change); err != nil {
		s.logger.Warn("write what this restore created into its work record; a kill now leaves it for a person", "err", err)
	}
}

// claim records the UUID of a table the restore created.
func (r *workRecord) claim(table, id string) {
	if r.CreatedUUIDs == nil {
		r.CreatedUUIDs = map[string]string{}
	}
	r.CreatedUUIDs[table] = id
}

// undo removes what a failed restore created, as its record says (see
// above), and says in the error it returns what it removed and what it
// left where. A cancelled context (the sidecar stopping) undoes nothing:
// the RESTORE may still run in ClickHouse, and the next start adopts it.
func (s *works) undo(ctx context.Context, rec workRecord, cause error) error {
	if ctx.Err() != nil {
		return cause
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	return s.undoRecord(ctx, rec).wrap(cause)
}

// undone is what an undo did, what it left (for a person, saying where)
// and what failed.
type undone struct {
	did, left []string
	errs      []error
}

func (u undone) wrap(cause error) error {
	text := ""
	if len(u.did) > 0 {
		text = "; " + strings.Join(u.did, "; ")
		if len(u.left) == 0 && len(u.errs) == 0 {
			text = "; nothing of it is left: " + strings.Join(u.did, "; ")
		}
	}
	if len(u.left) > 0 {
		text += "; " + strings.Join(u.left, "; ")
	}
	if len(u.errs) > 0 {
		return fmt.Errorf("%w%s; removing what it created failed, remove it by hand: %w", cause, text, errors.Join(u.errs...))
	}
	if text == "" {
		return cause
	}
	return fmt.Errorf("%w%s", cause, text)
}

// String is what the undo did and left, for a log or a swept record.
func (u undone) String() string {
	parts := append(slices.Clone(u.did), u.left...)
	for _, err := range u.errs {
		parts = append(parts, err.Error())
	}
	if len(parts) == 0 {
		return "nothing of it was found"
	}
	return strings.Join(parts, "; ")
}

func (s *works) undoRecord(ctx context.Context, rec workRecord) undone {
	var u undone
	objects, err := s.ops.Objects(ctx, rec.Target)
	if err != nil {
		u.errs = append(u.errs, fmt.Errorf("read what stands in %s: %w", rec.Target, err))
		return u
	}
	s.undoStaging(ctx, rec, objects, &u)
	s.undoCreated(ctx, rec, objects, &u)
	return u
}

// undoStaging drops each staging table that holds the restored copy. One
// that holds the original (a swap whose swap back failed) or something
// else stays, and u says where the original is.
func (s *works) undoStaging(ctx context.Context, rec workRecord, objects Objects, u *undone) {
	if len(rec.Swaps) == 0 {
		return
	}
	clean := true // every staging name held the copy, or nothing
	for _, sw := range rec.Swaps {
		o, exists := objects.Tables[sw.Staging]
		switch {
		case !exists:
		case sw.holdsCopy(o.UUID):
			if err := s.dropStagingTable(ctx, rec, sw); err != nil {
				u.errs = append(u.errs, err)
			}
		case o.UUID == sw.LiveUUID:
			clean = false
			u.left = append(u.left, fmt.Sprintf("the swap back failed: the original table %s.%s is kept, now named %s.%s; "+
				"put it back by hand (RENAME TABLE, or EXCHANGE TABLES with %s.%s)", rec.Target, sw.Live, rec.Target, sw.Staging,
				rec.Target, sw.Live))
		default:
			clean = false
			u.left = append(u.left, fmt.Sprintf("%s.%s is not the staging copy this restore made, left as it is", rec.Target, sw.Staging))
		}
	}
	if clean && len(u.errs) == 0 {
		u.did = append(u.did, "the live tables were not changed and the staging tables are dropped")
	}
}

// holdsCopy says whether a staging name with this UUID holds the restored
// copy: any table under it before the copy is checked (the name is the
// operation's), the checked copy's UUID after.
func (sw swap) holdsCopy(id string) bool {
	return sw.StagingUUID == "" || id == sw.StagingUUID
}

func (s *works) dropStagingTable(ctx context.Context, rec workRecord, sw swap) error {
	if !strings.HasPrefix(sw.Staging, stagingPrefix) {
		return fmt.Errorf("work record %s names %s, not a staging table", rec.ID, sw.Staging)
	}
	if err := s.db.DropTable(ctx, rec.Target, sw.Staging); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("drop staging table %s.%s: %w", rec.Target, sw.Staging, err)
	}
	return nil
}

// undoCreated drops the tables the restore created while they have the
// UUID it recorded, then the database it created while it has its UUID
// and holds nothing else. Unclaimed tables under its names stay, named.
func (s *works) undoCreated(ctx context.Context, rec workRecord, objects Objects, u *undone) {
	ours := rec.CreatedDatabase && rec.DatabaseUUID != "" && objects.UUID == rec.DatabaseUUID
	var mine, unclaimed, others []string
	for name, o := range objects.Tables {
		switch {
		case rec.CreatedUUIDs[name] != "" && rec.CreatedUUIDs[name] == o.UUID:
			mine = append(mine, name)
		case slices.Contains(rec.Created, name):
			unclaimed = append(unclaimed, name)
		case !strings.HasPrefix(name, ".inner") && !slices.ContainsFunc(rec.Swaps, func(sw swap) bool { return sw.Staging == name }):
			others = append(others, name) // an MV's inner table goes with its view
		}
	}
	slices.Sort(mine)
	slices.Sort(unclaimed)
	if len(unclaimed) > 0 {
		what, it := "table "+unclaimed[0], "it"
		if len(unclaimed) > 1 {
			what, it = "tables "+strings.Join(unclaimed, ", "), "them"
		}
		u.left = append(u.left, fmt.Sprintf("%s in %s left: nothing shows that this restore created %s, not someone else; "+
			"check and drop by hand", what, rec.Target, it))
	}
	if ours && len(unclaimed) == 0 && len(others) == 0 && len(rec.Swaps) == 0 {
		// Everything in it is this restore's: one DROP DATABASE takes
		// dictionaries and views' inner tables with it.
		s.dropDatabase(ctx, rec, u)
		return
	}
	var dropped []string
	for _, name := range mine {
		if err := s.db.DropTable(ctx, rec.Target, name); err != nil && !errors.Is(err, ErrNotFound) {
			u.errs = append(u.errs, fmt.Errorf("drop table %s.%s, which this restore created: %w", rec.Target, name, err))
		} else {
			dropped = append(dropped, name)
		}
	}
	if len(dropped) > 0 {
		u.did = append(u.did, fmt.Sprintf("the tables it created (%s) are dropped", strings.Join(dropped, ", ")))
	}
	if ours {
		slices.Sort(others)
		u.left = append(u.left, fmt.Sprintf("database %s, which this restore created, is kept: it holds %s, which this "+
			"restore did not create", rec.Target, strings.Join(append(others, unclaimed...), ", ")))
	}
}

func (s *works) dropDatabase(ctx context.Context, rec workRecord, u *undone) {
	if err := s.db.DropDatabase(ctx, rec.Target); err != nil {
		u.errs = append(u.errs, fmt.Errorf("drop database %s, which this restore created: %w", rec.Target, err))
		return
	}
	u.did = append(u.did, "database "+rec.Target+", which this restore created, is dropped")
}

// finishStaging drops the staging tables once the replace is done: each
// holds the old table (a swap) or the copy whose partitions replaced the
// live ones. Anything else under a staging name stays.
func (s *works) finishStaging(ctx context.Context, rec workRecord) error {
	objects, err := s.ops.Objects(ctx, rec.Target)
	if err != nil {
		return err
	}
	var errs []error
	for _, sw := range rec.Swaps {
		o, exists := objects.Tables[sw.Staging]
		if !exists {
			continue
		}
		if sw.LiveUUID != "" && o.UUID != sw.LiveUUID && !sw.holdsCopy(o.UUID) { // a record without LiveUUID predates it
			errs = append(errs, fmt.Errorf("%s.%s is neither the old table nor the staging copy, left as it is", rec.Target, sw.Staging))
			continue
		}
		if err := s.dropStagingTable(ctx, rec, sw); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// swapped says whether every swap of a whole-table replace is done: the
// live table is the checked copy.
func (rec workRecord) swapped(objects Objects) bool {
	if len(rec.Swaps) == 0 || len(rec.Partitions) > 0 {
		return false
	}
	for _, sw := range rec.Swaps {
		if sw.StagingUUID == "" || objects.Tables[sw.Live].UUID != sw.StagingUUID {
			return false
		}
	}
	return true
}
