package control

import (
	"context"
	"errors"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar"
)

// MaxField bounds request fields, so a huge string is rejected with a
// short message instead of being echoed back; MaxList and MaxListBytes
// bound a list field (tables, exclude_tables, partitions): a read of 1,000
// pending rows then holds at most a few tens of MB, whatever was inserted.
const (
	MaxField     = 256
	MaxList      = 100
	MaxListBytes = 8192
)

// TooLong is what the control plane reads in place of a list over
// MaxList entries or MaxListBytes bytes; no name can be it.
const TooLong = "\x00too long"

// admit checks a request before anything runs: it resolves defaults,
// validates every field, and authorizes the requester. A refusal is an
// ErrRejected with the reason.
func (s *Runner) admit(ctx context.Context, j Job) (Job, error) {
	if j.Action == ActionCancel {
		return j, s.admitCancel(ctx, j)
	}
	targetOK := func() error { return nil }
	if j.Action == ActionRestore {
		var err error
		if j, targetOK, err = s.inspectTarget(ctx, j); err != nil {
			return j, err
		}
	}
	// The fields' checks and the grants are independent reads: both at
	// once, and a fault in the request is reported before missing rights.
	var fieldsErr, authErr error
	var both errgroup.Group
	both.Go(func() error { fieldsErr = s.validateFields(ctx, j, targetOK); return nil })
	both.Go(func() error { authErr = s.authorize(ctx, j); return nil })
	_ = both.Wait()
	if fieldsErr != nil {
		return j, fieldsErr
	}
	return j, authErr
}

// inspectTarget looks at a restore's target once, for both the rights it
// takes (CREATE DATABASE when it does not exist) and whether it may be
// written: empty for a whole database, each named table absent or empty
// (or replaced) for some tables. The returned check says the latter.
func (s *Runner) inspectTarget(ctx context.Context, j Job) (Job, func() error, error) {
	var check func() error
	var err error
	if len(j.Restores) > 0 {
		var t sidecar.TableTargets
		t, err = s.svc.InspectTables(ctx, j.Target)
		j.TargetExists = t.Exists
		check = func() error { return t.Check(j.Restores, j.RestoreMode) }
	} else {
		var t sidecar.Target
		t, err = s.svc.InspectTarget(ctx, j.Target)
		j.TargetExists = t.Exists
		check = t.RequireEmpty
	}
	if errors.Is(err, sidecar.ErrTargetNotEmpty) {
		return j, check, reject("%v", err)
	}
	return j, check, err
}

// validateFields checks what precheck could not without reading: the
// database, the backup, the target. (precheck ran first.)
func (s *Runner) validateFields(ctx context.Context, r Job, targetOK func() error) error {
	if r.Action == ActionBackup {
		return s.requireLiveDatabase(ctx, r.Database)
	}
	if r.Action == ActionCleanup {
		return nil
	}
	// restore and verify read backups: the database may be gone (that is
	// why one restores), but its backups must exist.
	if _, err := s.svc.ChooseBackup(ctx, r.Database, r.Backup, r.AsOf, sidecar.Sources(r.Restores)...); err != nil {
		if errors.Is(err, sidecar.ErrBackupMissing) || errors.Is(err, sidecar.ErrBackupUnusable) || errors.Is(err, sidecar.ErrTableMissing) {
			return reject("%v", err)
		}
		return err
	}
	if err := targetOK(); err != nil {
		return reject("%v", err)
	}
	return nil
}

func (s *Runner) requireLiveDatabase(ctx context.Context, name string) error {
	err := s.svc.RequireDatabase(ctx, name)
	if errors.Is(err, sidecar.ErrDatabaseMissing) {
		return reject("%v", err)
	}
	return err
}

// admitCancel: the request to cancel is named in the backup field; only
// its requester (or the sidecar's own user) may cancel it.
func (s *Runner) admitCancel(ctx context.Context, r Job) error {
	st, err := s.cp.Status(ctx, r.Backup)
	if errors.Is(err, sidecar.ErrNotFound) {
		return reject("there is no request %q to cancel", r.Backup)
	}
	if err != nil {
		return err
	}
	if st.RequestedBy != r.RequestedBy && !r.Operator {
		return reject("request %s was made by %q; only they may cancel it", r.Backup, st.RequestedBy)
	}
	return nil
}
