package cluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/model"
)

// Restorer runs this node's steps of a set's restore on its own server.
type Restorer interface {
	// Allowed returns nil when user may restore database's backup into
	// target on this node: read the source, create tables in the target
	// (and insert for rows), create the target when it does not exist.
	Allowed(ctx context.Context, who setmodel.Requester, database, target string, rows, createDatabase bool) error
	// Target is database on this node: whether it exists, what it holds
	// (refusing a system, control or scratch database).
	Target(ctx context.Context, database string) (model.Target, error)
	// TableRows counts the rows of each table of database.
	TableRows(ctx context.Context, database string) (map[string]uint64, error)
	// Start sends a RESTORE (its ID recorded before) of a backup in the
	// primary bucket, or in the [[copy]] target named copyName; Await
	// waits for one to end: nil when RESTORED, sidecar.ErrNotFound when
	// this server has no such operation, ErrNoVerdict when how it ended
	// could not be learnt (it may still run), another error when it
	// ended otherwise.
	Start(ctx context.Context, cmd sidecar.RestoreCommand, copyName string) error
	Await(ctx context.Context, id, what, target, copyName string) error
}

// ErrNoVerdict marks a wait for a RESTORE that ended before the RESTORE
// did, or without learning how it ended: the wait timed out, or ClickHouse
// could not be read for LostContactAfter (awaitVerdict). The step stays started and is awaited again at the next
// beat: judged by its rows meanwhile, the tables the running RESTORE had
// not reached yet looked untouched and got a second RESTORE (their rows
// twice, with allow_non_empty_tables).
var ErrNoVerdict = errors.New("how the RESTORE ended is not known yet")

// nodeSteps runs this node's steps of sets' restores: the Coordinator's
// part that restores, as its Run loop finds restores listed open.
type nodeSteps struct{ c *Coordinator }

// step runs this node's steps of an open restore, in order; it stops at
// one that failed (marking the rest of its steps not run, so the
// restore's record ends and its requester answers).
func (n nodeSteps) step(ctx context.Context, database string, e setmodel.OpenRestore) error {
	c := n.c
	if c.opts.Restorer == nil {
		return nil
	}
	if c.now().After(e.Deadline) {
		return c.unlistRestore(ctx, entryRecord(database, e), e.Run) // its requester gave up, or stopped for good
	}
	key := recordKey(c.layout, entryRecord(database, e))
	for {
		rec, _, err := c.readRestore(ctx, key)
		if err != nil {
			return err
		}
		if !ours(c, rec.TargetClusterName, "restore", key) {
			return nil
		}
		s, ok := n.next(rec)
		if !ok || s.State == setmodel.StepFailed || s.State == setmodel.StepRejected {
			return nil // none left here, or this run's steps here have ended
		}
		if s.State == setmodel.StepPending && c.now().After(rec.Deadline) {
			return nil // its requester has given up on it, and no cleanup keeps its set any more: send nothing new
		}
		release := c.targets.take(rec.Target)
		err = n.run(ctx, key, rec, s)
		release()
		if err != nil {
			return err
		}
	}
}

// next is this node's first step of the record not done.
func (n nodeSteps) next(rec setmodel.RestoreRecord) (setmodel.StepRecord, bool) {
	c := n.c
	for _, s := range rec.Steps {
		if s.Target == c.self.Position.Shard && s.Replica == c.self.Position.Replica && s.State != setmodel.StepDone {
			return s, true
		}
	}
	return setmodel.StepRecord{}, false
}

// run runs one step, records how it ended, and marks this replica's
// steps after a failed one not run.
func (n nodeSteps) run(ctx context.Context, key string, rec setmodel.RestoreRecord, s setmodel.StepRecord) error {
	c := n.c
	state, why := n.restore(ctx, key, rec, s)
	if ctx.Err() != nil {
		return fmt.Errorf("restore step %s of set %s: %w", s.Key, rec.Set, ctx.Err()) // resumed after the restart
	}
	if state == noVerdict { // left started: awaited again at the next beat
		return fmt.Errorf("restore step %s of set %s: %s", s.Key, rec.Set, why)
	}
	c.logger.Info("restore step ended", "set", rec.Set, "target", rec.Target, "step", s.Key, "state", state, "error", why)
	_, err := c.updateRestore(ctx, key, func(r *setmodel.RestoreRecord) bool {
		mine := false
		for i := range r.Steps {
			t := &r.Steps[i]
			switch {
			case t.Key == s.Key:
				t.State, t.Error, t.Node, mine = state, why, c.self.Holder.Name, true
				at := c.now().UTC()
				t.FinishedAt = &at
			case mine && state != setmodel.StepDone && t.Target == s.Target && t.Replica == s.Replica && t.State == setmodel.StepPending:
				t.State, t.Error = setmodel.StepFailed, "not run: step "+s.Key+" before it on this replica did not end done"
			}
		}
		return true
	})
	return err
}

// noVerdict is restore's state for a step whose RESTORE was sent and may
// still run (ErrNoVerdict): no end is recorded.
const noVerdict setmodel.StepState = "no verdict"

// restore runs a step to its end and says how it ended: a pending
// step whole; a started one (sent by a run that stopped) by waiting for
// its RESTORE if this server still has it, else as ResumeStep judges its
// rows.
func (n nodeSteps) restore(ctx context.Context, key string, rec setmodel.RestoreRecord, s setmodel.StepRecord) (setmodel.StepState, string) {
	c := n.c
	run := setmodel.Resume{Tables: s.Tables, Settings: s.Settings}
	if s.State == setmodel.StepStarted {
		if s.OperationID != "" {
			err := c.opts.Restorer.Await(ctx, s.OperationID, s.Folder, rec.Target, s.OperationCopy)
			if err == nil {
				return setmodel.StepDone, ""
			}
			if errors.Is(err, ErrNoVerdict) {
				return noVerdict, err.Error()
			}
			if !errors.Is(err, sidecar.ErrNotFound) {
				c.logger.Warn("a restore step sent before ended otherwise; judging it by its rows", "step", s.Key, "err", err)
			}
		}
		now, err := c.opts.Restorer.TableRows(ctx, rec.Target)
		if err != nil {
			return setmodel.StepFailed, err.Error()
		}
		if run = setmodel.ResumeStep(s, now); run.Conflict != "" {
			return setmodel.StepFailed, run.Conflict
		}
		if run.Skip {
			return setmodel.StepDone, ""
		}
	}
	cmd, state, why := n.prepare(ctx, rec, s, run)
	if state != "" {
		return state, why
	}
	held, err := n.held(ctx, rec, s)
	if err != nil {
		return setmodel.StepFailed, err.Error()
	}
	cmd.Except = append(cmd.Except, slices.Sorted(maps.Keys(held))...)
	if len(held) > 0 && len(held) == len(run.Tables) {
		return n.leaveAll(ctx, key, s, held) // nothing of it to restore here
	}
	if err := n.markStarted(ctx, key, s, cmd.ID, rec.Target, held); err != nil {
		return setmodel.StepFailed, err.Error()
	}
	n.fault("set-restore-started")
	if err := c.opts.Restorer.Start(ctx, cmd, s.Copy); err != nil {
		return setmodel.StepFailed, err.Error()
	}
	n.fault("set-restore-sent")
	if err := c.opts.Restorer.Await(ctx, cmd.ID, s.Folder, rec.Target, s.Copy); errors.Is(err, ErrNoVerdict) {
		return noVerdict, err.Error()
	} else if err != nil {
		return setmodel.StepFailed, err.Error()
	}
	return setmodel.StepDone, ""
}

// prepare checks what a step needs on this node — the requester's
// grants here, and for a replica's first step an absent or empty target —
// and builds its RESTORE; a refusal comes back as the step's end state.
func (n nodeSteps) prepare(ctx context.Context, rec setmodel.RestoreRecord, s setmodel.StepRecord, run setmodel.Resume) (sidecar.RestoreCommand, setmodel.StepState, string) {
	c := n.c
	t, err := c.opts.Restorer.Target(ctx, rec.Target)
	if err != nil {
		return sidecar.RestoreCommand{}, setmodel.StepFailed, err.Error()
	}
	if err := c.opts.Restorer.Allowed(ctx, setmodel.Requester{Login: rec.RequestedBy, Operator: rec.Operator}, rec.Database, rec.Target, s.Kind == setmodel.StepData, !t.Exists); err != nil {
		return sidecar.RestoreCommand{}, setmodel.StepRejected, err.Error()
	}
	creates := settingValue(run.Settings, "create_table") == "'create'"
	if creates && s.State == setmodel.StepPending {
		if err := t.RequireEmpty(); err != nil {
			return sidecar.RestoreCommand{}, setmodel.StepFailed, fmt.Sprintf("%v on this node: a set's restore writes into a new or empty database", err)
		}
	}
	cmd := sidecar.RestoreCommand{ID: uuid.NewString(), Database: rec.Database, Target: rec.Target, Folder: s.Folder,
		Except: slices.Clone(s.Except), NewDatabase: !t.Exists, CreateTable: sidecar.CreateTableIfNotExists,
		StructureOnly: settingValue(run.Settings, "structure_only") == "1", AllowNonEmptyTables: settingValue(run.Settings, "allow_non_empty_tables") == "1"}
	if creates {
		cmd.CreateTable = sidecar.CreateTableNew
	}
	for _, table := range s.Tables { // a step run again leaves out the tables it restored before
		if !slices.Contains(run.Tables, table) && !slices.Contains(cmd.Except, table) {
			cmd.Except = append(cmd.Except, table)
		}
	}
	return cmd, "", ""
}

// markStarted records a step as sent, before it is: its operation id, and
// (the first time) each table's rows just before, by which a run after a
// crash judges what it did. The tables held (left as they are, see held)
// leave the step's tables, so no later run restores them either.
func (n nodeSteps) markStarted(ctx context.Context, key string, s setmodel.StepRecord, id, target string, held map[string]uint64) error {
	c := n.c
	before := s.Before
	if s.OperationID == "" && s.State == setmodel.StepPending {
		now, err := c.opts.Restorer.TableRows(ctx, target)
		if err != nil {
			return err
		}
		before = map[string]uint64{}
		for _, t := range s.Tables {
			if rows, ok := now[t]; ok && !heldTable(held, t) {
				before[t] = rows
			}
		}
	}
	_, err := c.updateRestore(ctx, key, func(r *setmodel.RestoreRecord) bool {
		t := r.Step(s.Key)
		if t == nil {
			return false
		}
		at := c.now().UTC()
		t.State, t.OperationID, t.OperationCopy, t.Before, t.Node, t.Error = setmodel.StepStarted, id, s.Copy, before, c.self.Holder.Name, ""
		leave(t, held)
		if t.StartedAt == nil {
			t.StartedAt = &at
		}
		return true
	})
	return err
}

// settingValue is a step setting's value as the plan wrote it ("" if unset).
func settingValue(settings []setmodel.Setting, name string) string {
	for _, s := range settings {
		if s.Name == name {
			return s.Value
		}
	}
	return ""
}

// fault calls the fault hook at a named point, if one is set.
func (n nodeSteps) fault(name string) {
	c := n.c
	if c.opts.FaultPoint != nil {
		c.opts.FaultPoint(name)
	}
}
