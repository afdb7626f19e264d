package sidecar

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/model"
)

// maxBackupSends bounds how often one backup is sent to a server that
// refuses concurrent backups (see sendBackup).
const maxBackupSends = 3

// sendBackup sends the BACKUP of b (its metadata written) under its turn,
// waits for ClickHouse to end it and records how it ended.
//
// A server with allow_concurrent_backups = false refuses a BACKUP sent
// while another backup is still in it, and says so in the operation's
// error (CONCURRENT_ACCESS_NOT_SUPPORTED) before it writes anything. The
// other is most often one of these turns' closing (its turn given back at
// its .backup object: see Turns); it may also be one adopted after a
// restart, one ClickHouse has said ended but not yet let go of, or another
// client's. So a refused BACKUP waits until none of these turns' backups
// is closing and ClickHouse lists no backup in progress (waitServerFree),
// and is sent again under a new operation id (ClickHouse refuses an id it
// knows), at most maxBackupSends times in all; then, or when the server
// stays busy past serverBusyWait, the refusal is the backup's failure,
// with what to set.
func (s *backups) sendBackup(ctx context.Context, req BackupRequest, b model.Backup, cmd BackupCommand, turn *heldTurn) (model.Backup, error) {
	for sends := 1; ; sends++ {
		cmd.ID = b.BackupID
		if err := turn.soloIfSerial(ctx); err != nil {
			turn.end()
			return b, fmt.Errorf("send backup %s: %w", b.Name, err) // ctx ended: the metadata is left for the next run
		}
		if err := s.db.StartBackup(ctx, cmd); err != nil {
			turn.end()
			return s.finishFailed(ctx, b, fmt.Errorf("start backup %s: %w", b.Name, err))
		}
		s.fault("backup-sent")
		if req.Started != nil {
			req.Started(b) // again for a BACKUP sent again: its operation id is new
		}
		s.logger.Info("backup started", "database", req.Database, "backup", b.Name, "kind", b.Kind, "base", b.Base,
			"operation", b.BackupID)
		op, err := s.awaitBackup(ctx, b, req.Progress, turn)
		if err == nil && refusedAsConcurrent(op) && turn.learnSerial() {
			s.logger.Warn("clickhouse refuses a BACKUP beside another (allow_concurrent_backups = false): from now on "+
				"this sidecar sends each BACKUP only once the one before it ended", "backup", b.Name)
		}
		if err == nil && sends < maxBackupSends && refusedAsConcurrent(op) {
			s.logger.Info("clickhouse refused the backup beside another one (allow_concurrent_backups = false): "+
				"sending it again once the server is free", "backup", b.Name, "operation", b.BackupID)
			renewed, rerr := s.renewOperation(ctx, b, turn)
			switch {
			case rerr == nil:
				b = renewed
				continue
			case ctx.Err() != nil:
				err = rerr // b is still the refused BACKUP, as its metadata says, left for the next run
			default:
				// The refusal is the failure people read; why it was not
				// sent again goes to the log.
				s.logger.Warn("backup not sent again", "backup", b.Name, "err", rerr)
			}
		}
		if err == nil && refusedAsConcurrent(op) {
			// ClickHouse's words advise turning the setting on; the
			// operator may rather keep it. ClickVault's own BACKUPs already
			// go one at a time by now (learnSerial): the other was not its.
			op.Error += "; this server runs one BACKUP at a time (allow_concurrent_backups = false) and ClickVault " +
				"sends its own one at a time: another BACKUP kept the server busy (another client's, or another " +
				"ClickVault process's on this server); run no other BACKUP beside ClickVault's"
		}
		turn.end()
		return s.settle(ctx, b, op, err)
	}
}

// renewOperation readies b to be sent again after ClickHouse refused it:
// once the server is free (waitServerFree), b gets a new operation id, in
// its metadata before the BACKUP is sent (as the first one was). On an
// error b is unchanged.
func (s *backups) renewOperation(ctx context.Context, b model.Backup, turn *heldTurn) (model.Backup, error) {
	if err := s.waitServerFree(ctx, turn); err != nil {
		return b, fmt.Errorf("send backup %s again: %w", b.Name, err)
	}
	renewed := b
	renewed.BackupID = uuid.NewString()
	if err := s.catalogs.writeMeta(ctx, renewed); err != nil {
		return b, fmt.Errorf("send backup %s again: %w", b.Name, err)
	}
	return renewed, nil
}

// waitServerFree waits for the solo turn (the server runs one BACKUP at a
// time: see Turns), until no backup of turn's turns is closing, then
// until ClickHouse lists no backup in progress among its newest
// operations, for at most serverBusyWait: a BACKUP of another client's may
// run for hours, and a row ClickHouse left CREATING_BACKUP for good
// (ClickHouse #92649) never ends. system.backups is read as an operation's
// wait reads it: more rarely as the wait grows (pollWait), since each read
// costs the server more with every operation it ran.
func (s *backups) waitServerFree(ctx context.Context, turn *heldTurn) error {
	if err := turn.goSolo(ctx); err != nil {
		return err
	}
	if err := turn.waitClosed(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, min(serverBusyWait, s.opts.OperationTimeout))
	defer cancel()
	start := time.Now()
	for {
		ops, err := s.db.RecentOperations(ctx, busyLookback)
		busy := err != nil
		for _, op := range ops {
			busy = busy || op.Status == OpCreatingBackup
		}
		if !busy {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the server's other BACKUP to end: %w", context.Cause(ctx))
		case <-time.After(s.pollWait(time.Since(start))):
		}
	}
}

// serverBusyWait bounds waitServerFree; busyLookback is how many of the
// newest operations it reads for a backup in progress.
const (
	serverBusyWait = 10 * time.Minute
	busyLookback   = 100
)

// awaitLeftBackup is awaitBackup for a leftover, under one of turns,
// given back before the metadata is written (ClickHouse is done with it
// by then) and while lookTwice waits.
func (s *backups) awaitLeftBackup(ctx context.Context, b model.Backup, progress ProgressFunc, turns Turns) (Operation, error) {
	return lookTwice(ctx, s.opts.UnsentGrace, "backup "+b.Name, func() (Operation, error) {
		turn, err := turns.take(ctx)
		if err != nil {
			return Operation{}, fmt.Errorf("adopt backup %s: %w", b.Name, err)
		}
		defer turn.end()
		return s.awaitBackup(ctx, b, progress, turn)
	})
}

// refusedAsConcurrent reports whether ClickHouse failed a BACKUP because
// another backup was in the server and it allows one at a time.
func refusedAsConcurrent(op Operation) bool {
	return op.Status == OpBackupFailed && strings.Contains(op.ErrorDetail, "(CONCURRENT_ACCESS_NOT_SUPPORTED)")
}

// adoptLeftover waits for a backup a killed run left running, under one
// of turns, and records how it ended; an error only when ctx ended.
func (s *backups) adoptLeftover(ctx context.Context, b model.Backup, progress ProgressFunc, turns Turns) error {
	op, err := s.awaitLeftBackup(ctx, b, progress, turns)
	if err == nil && refusedAsConcurrent(op) {
		// Refused beside another backup, the run stopped before sending it
		// again: ClickHouse wrote nothing (it refuses before writing), so
		// the BACKUP never reached it, and its request takes it anew.
		if l, lerr := s.store.List(ctx, b.Folder, true); lerr == nil && onlyMeta(l, b.Folder) {
			_, err = s.dropUnsent(ctx, b)
			if ctx.Err() != nil {
				return err
			}
			return nil
		}
	}
	if _, err := s.settle(ctx, b, op, err); err != nil && ctx.Err() != nil {
		return err
	}
	return nil
}
