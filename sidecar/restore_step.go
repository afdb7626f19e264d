package sidecar

import (
	"context"
	"errors"
	"fmt"
)

// Steps is the engine's side of the steps of a set's restore (package
// cluster): one RESTORE, with the settings the set's plan gives it, sent
// and awaited on this node's server by its operation id. The step's
// record in the bucket, not a work record, says what it did, so nothing
// here undoes a failed step: a step run again is judged by its rows
// (setmodel.ResumeStep), which TableRows reads.
type Steps struct{ r *restorer }

// Steps is the engine's side of a set's restore steps.
func (s *Service) Steps() Steps { return Steps{s.restorer} }

// Start sends cmd, whose ID is the caller's (recorded before it is sent),
// and returns once ClickHouse accepted it.
func (p Steps) Start(ctx context.Context, cmd RestoreCommand) error {
	if cmd.ID == "" {
		return errors.New("start a restore: the command has no operation id")
	}
	if err := p.r.db.StartRestore(ctx, cmd); err != nil {
		return fmt.Errorf("start the restore of %s into %s: %w", cmd.Folder, cmd.Target, err)
	}
	return nil
}

// Await waits for a RESTORE to end, by its operation id, and returns it as
// system.backups has it then; an error unless it ended RESTORED, wrapping
// ErrNotFound when this server has no such operation (it restarted since,
// or the RESTORE was never sent) twice, Options.UnsentGrace apart
// (lookTwice): a step a killed run sent may reach a busy server a moment
// later, and one taken for never sent is sent again (rows twice). A step
// just sent whose server then restarted waits that much more.
func (p Steps) Await(ctx context.Context, id, what, target string, progress ProgressFunc) (Operation, error) {
	return awaitLeftRestore(ctx, p.r, id, what, target, progress)
}

// awaitLeftRestore is awaitRestore for a RESTORE a killed run may have
// sent, looked for twice (lookTwice). A function: the restorer's methods
// are many.
func awaitLeftRestore(ctx context.Context, r *restorer, id, what, target string, progress ProgressFunc) (Operation, error) {
	return lookTwice(ctx, r.opts.UnsentGrace, "restore "+id, func() (Operation, error) {
		return r.awaitRestore(ctx, id, what, target, progress)
	})
}

// TableRows counts the rows of each table of a database on this node's
// server (none when it does not exist).
func (p Steps) TableRows(ctx context.Context, database string) (map[string]uint64, error) {
	rows, err := p.r.db.TableRows(ctx, database)
	if err != nil {
		return nil, fmt.Errorf("count the rows of %s: %w", database, err)
	}
	return rows, nil
}

// Announce sends an event through the configured notifier (a failed
// notification is logged and changes nothing): a set's restore, run by
// every node, is announced once, by the sidecar that answers it.
func (s *Service) Announce(ctx context.Context, e Event) { s.emit(ctx, e) }
