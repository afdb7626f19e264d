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
	r, err := s.precheck(r)
	if err != nil {
		return r, err
	}
	if r.Action == ActionCancel {
		return r, s.admitCancel(ctx, r)
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

// precheck is every check that needs no I/O: sizes, the action and kind,
// names, the id a cancel names, via. It resolves the defaults. Junk fails
// here, before anything is read or written.
func (s *Sidecar) precheck(r Request) (Request, error) {
	if err := checkSizes(r); err != nil {
		return r, err
	}
	if r.Via != "" && r.RequestedBy != s.opts.OwnUser {
		return r, reject("via is set only by the sidecar, for requests queued over HTTP; leave it empty")
	}
	r.Action = strings.TrimSpace(r.Action)
	switch r.Action {
	case ActionBackup, ActionRestore, ActionVerify, ActionCleanup:
	case ActionCancel:
		return r, precheckCancel(r)
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
	if r.Action == ActionBackup {
		if _, err := ParseKind(r.Kind); err != nil {
			return r, reject("%v", err)
		}
	}
	if r.Action == ActionRestore && r.Target == "" {
		r.Target = r.Database
	}
	if r.Action == ActionRestore {
		if err := ValidateIdentifier("restore target", r.Target); err != nil {
			return r, reject("%v", err)
		}
	}
	if r.Backup != "" && r.Action != ActionBackup && r.Action != ActionCleanup {
		if _, err := ParseName(r.Backup); err != nil {
			return r, reject("backup name %q is not a backup name (YYYYMMDDTHHMMSSmmmZ)", r.Backup)
		}
	}
	return r, nil
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

// validateFields checks what precheck could not without reading: the
// database, the backup, the target. (precheck ran first.)
func (s *Sidecar) validateFields(ctx context.Context, r Request) error {
	if r.Action == ActionBackup {
		return s.requireLiveDatabase(ctx, r.Database)
	}
	if r.Action == ActionCleanup {
		return nil
	}
	// restore and verify read backups: the database may be gone (that is
	// why one restores), but its backups must exist.
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

// authorize: the requester needs ClickHouse's own grants for the action, and
// must be on the allow-list if one is configured. See rightsFor.
func (s *Sidecar) authorize(ctx context.Context, r Request) error {
	if len(s.opts.AllowUsers) > 0 && !slices.Contains(s.opts.AllowUsers, r.RequestedBy) {
		return reject("user %q is not on the sidecar's allow-list", r.RequestedBy)
	}
	if s.auth == nil {
		return nil
	}
	needs, err := s.rightsFor(ctx, r)
	if err != nil {
		return err
	}
	for _, n := range needs {
		ok, err := s.auth.Can(ctx, r.RequestedBy, n.privilege, n.database)
		if err != nil {
			return fmt.Errorf("check grants of %s: %w", r.RequestedBy, err)
		}
		if !ok {
			return reject("user %q lacks %s on database %s (%s), which %s needs", r.RequestedBy, n.privilege, n.database, n.why, r.Action)
		}
	}
	return nil
}

// right is one privilege a request needs on every table of a database.
type right struct {
	privilege Privilege
	database  string
	why       string
}

// rightsFor lists what the requester must hold: BACKUP on the database for
// backup, verify and cleanup. A restore reads the source's data, so it needs
// SELECT on the source (as reading it live would), and writes the target:
// CREATE TABLE and INSERT on it, and CREATE DATABASE when it does not exist.
// Deleting backups (a cleanup that is not a dry run) or forcing a new chain
// (kind full, which pushes the oldest chain out of retention) takes DROP
// TABLE on the database too: whoever may drop its tables may drop their
// backups, and an operator grants that on purpose. The sidecar's own user
// (its schedule, its HTTP write tokens) is the operator's and needs no more.
func (s *Sidecar) rightsFor(ctx context.Context, r Request) ([]right, error) {
	if r.Action != ActionRestore {
		needs := []right{{PrivBackup, r.Database, "the database backed up"}}
		destructive := (r.Action == ActionCleanup && !r.DryRun) ||
			(r.Action == ActionBackup && strings.TrimSpace(r.Kind) == string(KindFull))
		if destructive && r.RequestedBy != s.opts.OwnUser {
			needs = append(needs, right{PrivDropTable, r.Database, "deleting backups or forcing a new chain takes it"})
		}
		return needs, nil
	}
	needs := []right{
		{PrivSelect, r.Database, "the restore's source: it reads its data"},
		{PrivCreate, r.Target, "the restore's target"},
		{PrivInsert, r.Target, "the restore's target"},
	}
	exists, err := s.svc.db.DatabaseExists(ctx, r.Target)
	if err != nil {
		return nil, fmt.Errorf("check restore target %s: %w", r.Target, err)
	}
	if !exists {
		needs = append(needs, right{PrivCreateDatabase, r.Target, "the restore's target, which does not exist yet"})
	}
	return needs, nil
}

// precheckCancel: a cancel names, in its backup column, the id of the
// request to cancel, in its canonical form.
func precheckCancel(r Request) error {
	if r.Backup == "" {
		return reject("cancel needs the id of the request to cancel in the backup column")
	}
	if !CanonicalID(r.Backup) {
		return reject("cancel: %q is not a request id (want 8-4-4-4-12 hex digits, as clickvault.requests shows them)", r.Backup)
	}
	return nil
}

// admitCancel: the request to cancel is named in the backup field; only
// its requester (or the sidecar's own user) may cancel it.
func (s *Sidecar) admitCancel(ctx context.Context, r Request) error {
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
