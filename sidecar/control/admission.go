package control

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar"
)

// maxField bounds request fields, so a huge string is rejected with a short
// message instead of being echoed back.
const maxField = 256

// admit checks a request before anything runs: it resolves defaults,
// validates every field, and authorizes the requester. A refusal is an
// ErrRejected with the reason.
func (s *Runner) admit(ctx context.Context, j Job) (Job, error) {
	if j.Action == ActionCancel {
		return j, s.admitCancel(ctx, j)
	}
	var target sidecar.Target
	if j.Action == ActionRestore {
		var err error
		if j, target, err = s.inspectTarget(ctx, j); err != nil {
			return j, err
		}
	}
	// The fields' checks and the grants are independent reads: both at
	// once, and a fault in the request is reported before missing rights.
	var fieldsErr, authErr error
	var both errgroup.Group
	both.Go(func() error { fieldsErr = s.validateFields(ctx, j, target); return nil })
	both.Go(func() error { authErr = s.authorize(ctx, j); return nil })
	_ = both.Wait()
	if fieldsErr != nil {
		return j, fieldsErr
	}
	return j, authErr
}

// inspectTarget looks at a restore's target once, for both the rights it
// takes (CREATE DATABASE when it does not exist) and whether it is empty.
func (s *Runner) inspectTarget(ctx context.Context, j Job) (Job, sidecar.Target, error) {
	t, err := s.svc.InspectTarget(ctx, j.Target)
	if errors.Is(err, sidecar.ErrTargetNotEmpty) {
		return j, t, reject("%v", err)
	}
	j.TargetExists = t.Exists
	return j, t, err
}

// precheck is every check that needs no I/O: sizes, the action and kind,
// names, the id a cancel names, via. It resolves the defaults and parses
// the row into the Job every later step trusts. Junk fails here, before
// anything is read or written.
func (s *Runner) precheck(r Request) (Job, error) {
	j := Job{Request: r}
	if err := checkSizes(r); err != nil {
		return j, err
	}
	if r.Via != "" && r.RequestedBy != s.opts.OwnUser {
		return j, reject("via is set only by the sidecar, for requests queued over HTTP; leave it empty")
	}
	j.Action = strings.TrimSpace(r.Action)
	switch j.Action {
	case ActionBackup, ActionRestore, ActionVerify, ActionCleanup:
	case ActionCancel:
		return j, precheckCancel(j)
	default:
		return j, reject("unknown action %q: want backup, restore, verify, cleanup or cancel", j.Action)
	}
	if r.AsOf != nil {
		j.AsOf = *r.AsOf
	}
	return s.parseFields(j)
}

// parseFields resolves the defaults and parses the names and the kind.
func (s *Runner) parseFields(r Job) (Job, error) {
	if r.Database == "" {
		r.Database = s.opts.DefaultDatabase
	}
	if r.Database == "" {
		return r, reject("no database given and no default database configured")
	}
	if err := sidecar.ValidateIdentifier("database", r.Database); err != nil {
		return r, reject("%v", err)
	}
	if r.Action == ActionBackup {
		kind, err := sidecar.ParseKind(r.Request.Kind)
		if err != nil {
			return r, reject("%v", err)
		}
		r.Kind = kind
	}
	if r.Action == ActionRestore && r.Target == "" {
		r.Target = r.Database
	}
	if r.Action == ActionRestore {
		if err := sidecar.ValidateIdentifier("restore target", r.Target); err != nil {
			return r, reject("%v", err)
		}
	}
	if r.Backup != "" && r.Action != ActionBackup && r.Action != ActionCleanup {
		if _, err := sidecar.ParseName(r.Backup); err != nil {
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
func (s *Runner) validateFields(ctx context.Context, r Job, target sidecar.Target) error {
	if r.Action == ActionBackup {
		return s.requireLiveDatabase(ctx, r.Database)
	}
	if r.Action == ActionCleanup {
		return nil
	}
	// restore and verify read backups: the database may be gone (that is
	// why one restores), but its backups must exist.
	if _, err := s.svc.ChooseBackup(ctx, r.Database, r.Backup, r.AsOf); err != nil {
		if errors.Is(err, sidecar.ErrBackupMissing) || errors.Is(err, sidecar.ErrBackupUnusable) {
			return reject("%v", err)
		}
		return err
	}
	if r.Action == ActionRestore {
		if err := target.RequireEmpty(); err != nil {
			return reject("%v", err)
		}
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

// authorize: the requester needs ClickHouse's own grants for the action, and
// must be on the allow-list if one is configured. See rightsFor.
func (s *Runner) authorize(ctx context.Context, r Job) error {
	if len(s.opts.AllowUsers) > 0 && !slices.Contains(s.opts.AllowUsers, r.RequestedBy) {
		return reject("user %q is not on the sidecar's allow-list", r.RequestedBy)
	}
	if s.auth == nil {
		return nil
	}
	for _, n := range s.rightsFor(r) {
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
func (s *Runner) rightsFor(r Job) []right {
	if r.Action != ActionRestore {
		needs := []right{{PrivBackup, r.Database, "the database backed up"}}
		destructive := (r.Action == ActionCleanup && !r.DryRun) ||
			(r.Action == ActionBackup && r.Kind == sidecar.KindFull)
		if destructive && r.RequestedBy != s.opts.OwnUser {
			needs = append(needs, right{PrivDropTable, r.Database, "deleting backups or forcing a new chain takes it"})
		}
		return needs
	}
	needs := []right{
		{PrivSelect, r.Database, "the restore's source: it reads its data"},
		{PrivCreate, r.Target, "the restore's target"},
		{PrivInsert, r.Target, "the restore's target"},
	}
	if !r.TargetExists {
		needs = append(needs, right{PrivCreateDatabase, r.Target, "the restore's target, which does not exist yet"})
	}
	return needs
}

// precheckCancel: a cancel names, in its backup column, the id of the
// request to cancel, in its canonical form.
func precheckCancel(r Job) error {
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
func (s *Runner) admitCancel(ctx context.Context, r Job) error {
	st, err := s.cp.Status(ctx, r.Backup)
	if errors.Is(err, sidecar.ErrNotFound) {
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
