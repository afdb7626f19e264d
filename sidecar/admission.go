package sidecar

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// maxField bounds request fields, so a huge string is rejected with a short
// message instead of being echoed back.
const maxField = 256

// admit checks a request before anything runs: it resolves defaults,
// validates every field, and authorizes the requester. A refusal is an
// ErrRejected with the reason.
func (s *Sidecar) admit(ctx context.Context, r Request) (Request, error) {
	if err := checkSizes(r); err != nil {
		return r, err
	}
	r.Action = strings.TrimSpace(r.Action)
	switch r.Action {
	case ActionBackup, ActionRestore, ActionVerify, ActionCleanup:
	case ActionCancel:
		return r, s.admitCancel(ctx, r)
	default:
		return r, reject("unknown action %q: want backup, restore, verify, cleanup or cancel", r.Action)
	}
	if r.Database == "" {
		r.Database = s.opts.DefaultDatabase
	}
	if r.Database == "" {
		return r, reject("no database given and no default database configured")
	}
	if err := ValidateIdentifier("database", r.Database); err != nil {
		return r, reject("%v", err)
	}
	if r.Action == ActionRestore && r.Target == "" {
		r.Target = r.Database
	}
	// The fields' checks and the grants are independent reads: both at
	// once, and a fault in the request is reported before missing rights.
	var fieldsErr, authErr error
	var both errgroup.Group
	both.Go(func() error { fieldsErr = s.validateFields(ctx, r); return nil })
	both.Go(func() error { authErr = s.authorize(ctx, r); return nil })
	_ = both.Wait()
	if fieldsErr != nil {
		return r, fieldsErr
	}
	return r, authErr
}

func checkSizes(r Request) error {
	for name, v := range map[string]string{"action": r.Action, "database": r.Database, "kind": r.Kind,
		"backup": r.Backup, "target": r.Target} {
		if len(v) > maxField {
			return reject("%s is %d bytes long, at most %d are allowed", name, len(v), maxField)
		}
	}
	return nil
}

func (s *Sidecar) validateFields(ctx context.Context, r Request) error {
	if r.Action == ActionBackup {
		if _, err := ParseKind(r.Kind); err != nil {
			return reject("%v", err)
		}
		return s.requireLiveDatabase(ctx, r.Database)
	}
	if r.Action == ActionCleanup {
		return nil
	}
	// restore and verify read backups: the database may be gone (that is
	// why one restores), but its backups must exist.
	if r.Backup != "" {
		if _, err := ParseName(r.Backup); err != nil {
			return reject("backup name %q is not a backup name (YYYYMMDDTHHMMSSmmmZ)", r.Backup)
		}
	}
	var asOf time.Time
	if r.AsOf != nil {
		asOf = *r.AsOf
	}
	if _, err := s.svc.ChooseBackup(ctx, r.Database, r.Backup, asOf); err != nil {
		if errors.Is(err, ErrBackupMissing) || errors.Is(err, ErrBackupUnusable) {
			return reject("%v", err)
		}
		return err
	}
	if r.Action == ActionRestore {
		if err := ValidateIdentifier("restore target", r.Target); err != nil {
			return reject("%v", err)
		}
		if err := s.svc.requireEmptyTarget(ctx, r.Target); err != nil {
			if errors.Is(err, ErrTargetNotEmpty) {
				return reject("%v", err)
			}
			return err
		}
	}
	return nil
}

func (s *Sidecar) requireLiveDatabase(ctx context.Context, name string) error {
	err := s.svc.requireDatabase(ctx, name)
	if errors.Is(err, ErrDatabaseMissing) {
		return reject("%v", err)
	}
	return err
}

// authorize: the requester needs ClickHouse's own grants for the action
// (BACKUP on the database for backup, verify and cleanup; CREATE TABLE and
// INSERT on the target for restore), and must be on the allow-list if one
// is configured.
func (s *Sidecar) authorize(ctx context.Context, r Request) error {
	if len(s.opts.AllowUsers) > 0 && !slices.Contains(s.opts.AllowUsers, r.RequestedBy) {
		return reject("user %q is not on the sidecar's allow-list", r.RequestedBy)
	}
	if s.auth == nil {
		return nil
	}
	type need struct {
		p  Privilege
		db string
	}
	needs := []need{{PrivBackup, r.Database}}
	if r.Action == ActionRestore {
		needs = []need{{PrivCreate, r.Target}, {PrivInsert, r.Target}}
	}
	for _, n := range needs {
		ok, err := s.auth.Can(ctx, r.RequestedBy, n.p, n.db)
		if err != nil {
			return fmt.Errorf("check grants of %s: %w", r.RequestedBy, err)
		}
		if !ok {
			return reject("user %q lacks %s on database %s, which %s needs", r.RequestedBy, n.p, n.db, r.Action)
		}
	}
	return nil
}

// admitCancel: the request to cancel is named in the backup field; only
// its requester (or the sidecar's own user) may cancel it.
func (s *Sidecar) admitCancel(ctx context.Context, r Request) error {
	if r.Backup == "" {
		return reject("cancel needs the id of the request to cancel in the backup column")
	}
	st, err := s.cp.Status(ctx, r.Backup)
	if errors.Is(err, ErrNotFound) {
		return reject("there is no request %q to cancel", r.Backup)
	}
	if err != nil {
		return err
	}
	if st.RequestedBy != r.RequestedBy && r.RequestedBy != s.opts.OwnUser {
		return reject("request %s was made by %q; only they may cancel it", r.Backup, st.RequestedBy)
	}
	return nil
}
