package control

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
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

// admission decides whether a request may run: its fields parsed once into
// a Job (parseJob), the facts it names (the database, the target), the
// requester's own grants, and the rights an include or a cancel takes.
type admission struct{ *base }

// admit checks a request before anything runs: it authorizes the
// requester, then validates what needs reading (the database, the backup,
// the target). Rights come first: a requester who may not make the request
// learns which right is missing and nothing about rows, tables or
// databases. A refusal is an ErrRejected with the reason.
func (s *admission) admit(ctx context.Context, j Job) (Job, error) {
	if j.Action == ActionCancel {
		return j, s.admitCancel(ctx, j)
	}
	// Every right but CREATE DATABASE on a restore's missing target is
	// known from the request alone. The grants are read once for all.
	g := s.grantsOfJob(j)
	known := j
	known.TargetExists = true
	if err := s.authorize(ctx, g, known); err != nil {
		return j, err
	}
	if err := s.refuseRowPolicies(ctx, j); err != nil {
		return j, err
	}
	if err := s.refuseReadableScratch(ctx, g, j); err != nil {
		return j, err
	}
	targetOK := func() error { return nil }
	if j.Action == ActionRestore {
		var err error
		if j, targetOK, err = s.inspectTarget(ctx, j); err != nil {
			return j, err
		}
		// The requester holds CREATE TABLE and INSERT on the target, so may
		// learn that it does not exist.
		if !j.TargetExists {
			if err := s.authorize(ctx, g, j); err != nil {
				return j, err
			}
		}
	}
	src, err := s.validateFields(ctx, j, targetOK)
	j.ChosenSource = src
	return j, err
}

// refuseRowPolicies refuses a restore of tables on which a row policy
// restricts the requester: the restored copy would hold every row, in a
// database they may read. A verify restores into a scratch database, which
// it may run only if they cannot read that (verify_scratch.go).
func (s *admission) refuseRowPolicies(ctx context.Context, j Job) error {
	if j.Action != ActionRestore || s.auth == nil || j.Operator {
		return nil
	}
	policies, err := s.auth.RowPolicies(ctx, j.RequestedBy, j.Database, model.SourceTables(j.Restores))
	if err != nil {
		return fmt.Errorf("check row policies of %s: %w", j.RequestedBy, err)
	}
	if len(policies) > 0 {
		return reject("user %q is restricted by row policy %s on database %s; a restore would copy every row, "+
			"so it is refused (a verify may run, unless they can read its scratch database)", j.RequestedBy, strings.Join(policies, ", "), j.Database)
	}
	return nil
}

// inspectTarget looks at a restore's target once, for both the rights it
// takes (CREATE DATABASE when it does not exist) and whether it may be
// written: empty for a whole database, each named table absent (or
// replaced) for some tables. The returned admit says the latter; a
// target that is never one (ErrForbiddenTarget) is rejected at once. Every
// refusal of a target — forbidden, not empty (ErrTargetNotEmpty), a table
// there already (ErrTargetExists), two tables under one name
// (ErrTargetConflict) — is a rejection.
func (s *admission) inspectTarget(ctx context.Context, j Job) (Job, func() error, error) {
	var admit func() error
	var err error
	if len(j.Restores) > 0 {
		var t model.TableTargets
		t, err = s.svc.InspectTables(ctx, j.Target)
		j.TargetExists = t.Exists
		admit = func() error { return t.Admit(j.Restores, j.RestoreMode) }
	} else {
		var t model.Target
		t, err = s.svc.InspectTarget(ctx, j.Target)
		j.TargetExists = t.Exists
		admit = t.RequireEmpty
	}
	if errors.Is(err, model.ErrForbiddenTarget) { // what reading the target can refuse; admit judges the rest
		return j, admit, reject("%v", err)
	}
	return j, admit, err
}

// validateFields checks what parseJob could not without reading: the
// database, the backup, the target. (parseJob ran first.) For a restore or
// verify, checking that its backup exists is finding where: that place is
// returned, for the run to read from (Job.ChosenSource); nil otherwise.
func (s *admission) validateFields(ctx context.Context, r Job, targetOK func() error) (*sidecar.Source, error) {
	if r.Action == ActionBackup {
		return nil, s.requireLiveDatabase(ctx, r.DB)
	}
	if r.Action == ActionCleanup {
		if _, err := s.repository(ctx, r); err != nil {
			return nil, reject("%v", err)
		}
		return nil, nil
	}
	if r.Action == ActionRestore && s.opts.Sets != nil {
		// A set's restore chooses its set when it runs, and each node
		// judges its own target (empty, or as the restore's record left it).
		return nil, nil
	}
	// targetOK judges what inspectTarget read, with no I/O: its every
	// error is a refusal of the target. It goes first: a request rejected
	// for its target costs no read of the backups, here or at a copy.
	if err := targetOK(); err != nil {
		return nil, reject("%v", err)
	}
	// restore and verify read backups: the database may be gone (that is
	// why one restores), but its backups must exist, in the source asked
	// for, or in the primary or else a copy target. The look at each copy
	// target is bounded: a target that takes connections and never
	// answers would hold an admission slot for the S3 client's retries of
	// its 2-minute answer timeout, and a few requests naming it would hold
	// every admission. Cut short, a named target's request is admitted
	// (its run reads the target again and answers what it says); an
	// unnamed one's next target is asked.
	src, err := sidecar.ChooseSource(ctx, s.svc, s.opts.CopyReaders, r.Request.Source, s.wanted(r, false, s.opts.SourceLookWithin))
	if err != nil {
		if errors.Is(err, model.ErrBackupMissing) || errors.Is(err, model.ErrBackupUnusable) || errors.Is(err, model.ErrTableMissing) ||
			errors.Is(err, sidecar.ErrUnknownCopyTarget) {
			return nil, reject("%v", err)
		}
		return nil, err
	}
	return &src, nil
}

// defaultSourceLookWithin bounds admission's look for a restore's or
// verify's backup at each copy target (Options.SourceLookWithin): a
// healthy look is one GET of the index, or a listing.
const defaultSourceLookWithin = time.Minute

// readFrom is where a restore or verify reads its backup: where admission
// found it, or, for a request adopted after a restart, chosen now. A
// restore admission found in the primary has the primary's backup checked
// now, when it runs (sidecar.BackupWanted.Sound), and reads a copy if it
// is broken: only the sidecar that claimed it pays for the check, and the
// verdict is as fresh as the RESTORE. (A restore adopted after a restart
// reads where its run read, when its work record says (restoreSource);
// else it is chosen and checked again here.)
func (s *base) readFrom(ctx context.Context, r Job) (sidecar.Source, error) {
	recheck := r.Action == ActionRestore && r.Request.Source == "" && s.opts.CopyReaders != nil
	if r.ChosenSource != nil && (!recheck || r.ChosenSource.Name != "") {
		return *r.ChosenSource, nil
	}
	return sidecar.ChooseSource(ctx, s.svc, s.opts.CopyReaders, r.Request.Source, s.wanted(r, recheck, 0))
}

// wanted is the backup a restore or verify asks for; sound has the
// primary's backup checked first, look bounds each copy target's look.
func (s *base) wanted(r Job, sound bool, look time.Duration) sidecar.BackupWanted {
	return sidecar.BackupWanted{Database: r.Database, Backup: r.Backup, AsOf: r.AsOf, Tables: model.SourceTables(r.Restores),
		Sound: sound, CopyLookWithin: look}
}

// repository is the engine a check or cleanup acts on: the primary's, or
// the copy target's the request names (no fallback: a cleanup or check
// of the primary is never run on a copy).
func (s *base) repository(ctx context.Context, r Job) (*sidecar.Service, error) {
	if r.Request.Source == "" {
		return s.svc, nil
	}
	src, err := sidecar.TargetNamed(ctx, s.opts.CopyReaders, r.Request.Source)
	return src.Service, err
}

func (s *admission) requireLiveDatabase(ctx context.Context, name model.DatabaseName) error {
	err := s.svc.RequireDatabase(ctx, name)
	if errors.Is(err, model.ErrDatabaseMissing) {
		return reject("%v", err)
	}
	return err
}

// admitCancel: the request to cancel is named in the backup field; only
// its requester (or the sidecar's own user) may cancel it.
func (s *admission) admitCancel(ctx context.Context, r Job) error {
	st, err := s.cp.Status(ctx, r.Backup)
	if err != nil && !errors.Is(err, sidecar.ErrNotFound) {
		return err
	}
	// One answer for "no such request" and "someone else's": a cancel
	// must not tell who made which request.
	if errors.Is(err, sidecar.ErrNotFound) || (st.RequestedBy != r.RequestedBy && !r.Operator) {
		return reject("there is no request %q of yours to cancel", r.Backup)
	}
	return nil
}
