package control

import (
	"slices"
	"strings"

	"github.com/clickvault/clickvault/sidecar/model"
)

// parseJob is everything that needs no I/O: sizes, the action and kind,
// names, the id a cancel names, via. It resolves the defaults and parses
// the row into the Job every later step trusts. Junk fails here, before
// anything is read or written.
func (s *admission) parseJob(r Request) (Job, error) {
	j := Job{Request: r, Operator: s.operator(r)}
	if err := validateSizes(r); err != nil {
		return j, err
	}
	if r.Via != "" && !j.Operator {
		return j, reject("via is set only by the sidecar, for requests queued over HTTP; leave it empty")
	}
	j.Action = Action(strings.TrimSpace(string(r.Action)))
	switch j.Action {
	case ActionBackup, ActionRestore, ActionVerify, ActionCheck, ActionCleanup:
	case ActionCancel:
		if _, err := parseChoices(j); err != nil {
			return j, err
		}
		if err := s.validateShardAndSource(j); err != nil {
			return j, err
		}
		return j, parseCancel(j)
	default:
		return j, reject("unknown action %q: want backup, restore, verify, check, cleanup or cancel", j.Action)
	}
	if r.AsOf != nil {
		j.AsOf = *r.AsOf
	}
	j, err := parseChoices(j)
	if err != nil {
		return j, err
	}
	if err := s.validateShardAndSource(j); err != nil {
		return j, err
	}
	if j, err = s.parseFields(j); err != nil {
		return j, err
	}
	return j, s.refuseOnCluster(j)
}

// parseChoices reads consumers and dry_run. consumers is a restore's
// alone (verify always leaves such tables out); dry_run is a cleanup's
// (report only) and a restore's (answer with the plan, run nothing).
// Anywhere else a set value would be ignored, so it is refused: a backup
// asked for as a dry run would otherwise really run.
func parseChoices(j Job) (Job, error) {
	if j.Action != ActionRestore {
		if strings.TrimSpace(j.Request.Consumers) != "" {
			return j, reject("consumers is for restores, not %s; leave it empty (verify always leaves out the tables "+
				"that consume or write elsewhere)", j.Action)
		}
		if j.DryRun && j.Action != ActionCleanup {
			return j, reject("dry_run is for restores (answer with the plan, restore nothing) and cleanups (report only), not %s", j.Action)
		}
		return j, nil
	}
	c, err := model.ParseConsumers(j.Request.Consumers)
	if err != nil {
		return j, reject("unknown consumers %q: want '' (the default: refuse a restore that would recreate tables that "+
			"consume or write elsewhere, naming them), 'skip' (leave them out) or 'include' (restore them live, "+
			"refreshable views stopped)", j.Request.Consumers)
	}
	j.Consumers = c
	return j, nil
}

// validateShardAndSource refuses a shard or a source where it would be
// ignored: a shard is a restore's on a cluster node, a source a restore's,
// verify's, check's or cleanup's.
func (s *admission) validateShardAndSource(j Job) error {
	switch {
	case j.Shard != 0 && (j.Action != ActionRestore || s.opts.Sets == nil):
		return reject("shard is for a restore of one shard of a set, on a cluster node; leave it 0")
	case j.Source != "" && j.Action != ActionRestore && j.Action != ActionVerify && j.Action != ActionCheck && j.Action != ActionCleanup:
		return reject("source is for restores, verifies, checks and cleanups (the [[copy]] target they act on), not %s; leave it empty", j.Action)
	case j.Source != "" && s.opts.Sets != nil && j.Action != ActionRestore:
		return reject("source: on a cluster node only a set's restore may name a [[copy]] target, not a %s", j.Action)
	}
	return nil
}

// parseFields resolves the defaults and parses the names and the kind.
func (s *admission) parseFields(r Job) (Job, error) {
	if r.Database == "" {
		r.Database = s.opts.DefaultDatabase
	}
	if r.Database == "" {
		return r, reject("no database given and no default database configured")
	}
	db, err := model.ParseDatabaseName(r.Database)
	if err != nil {
		return r, reject("%v", err)
	}
	r.DB = db
	if r.Action == ActionBackup {
		kind, err := model.ParseKind(r.Request.Kind)
		if err != nil {
			return r, reject("%v", err)
		}
		r.Kind = kind
	}
	if r.Action == ActionRestore && r.Target == "" {
		r.Target = r.Database
	}
	if r.Action == ActionRestore {
		if err := model.ValidateIdentifier("restore target", r.Target); err != nil {
			return r, reject("%v", err)
		}
	}
	if r.Backup != "" && r.Action != ActionBackup && r.Action != ActionCleanup {
		if _, err := model.ParseName(r.Backup); err != nil {
			return r, reject("backup name %q is not a backup name (YYYYMMDDTHHMMSSmmmZ)", r.Backup)
		}
	}
	return s.parseTables(r)
}

// parseTables reads the table fields: a backup's table set (the request's,
// else the configuration's for the database), a restore's tables,
// partitions and mode. Other actions take none.
func (s *admission) parseTables(r Job) (Job, error) {
	switch r.Action {
	case ActionBackup:
		if len(r.Partitions) > 0 || r.Mode != "" {
			return r, reject("partitions and mode are for restores, not backups")
		}
		set, err := model.NewTableSet(r.Tables, r.ExcludeTables)
		if err != nil {
			return r, reject("%v", err)
		}
		r.OwnTableSet = !set.All()
		if set.All() {
			set = s.opts.TableSets[r.Database]
		}
		r.Set = set
	case ActionRestore:
		return parseRestoreTables(r)
	default:
		if len(r.Tables)+len(r.ExcludeTables)+len(r.Partitions) > 0 || r.Mode != "" {
			return r, reject("tables, exclude_tables, partitions and mode are for backups and restores, not %s", r.Action)
		}
	}
	return r, nil
}

func parseRestoreTables(r Job) (Job, error) {
	if len(r.ExcludeTables) > 0 {
		return r, reject("exclude_tables is for backups; a restore names the tables it restores in tables")
	}
	mode, err := model.ParseRestoreMode(r.Mode)
	if err != nil {
		return r, reject("%v", err)
	}
	r.RestoreMode = mode
	for _, t := range r.Tables {
		tr, err := model.ParseTableRestore(t)
		if err != nil {
			return r, reject("%v", err)
		}
		r.Restores = append(r.Restores, tr)
	}
	if err := model.ValidateRestoreShape(r.Restores, r.Partitions, mode); err != nil {
		return r, reject("%v", err)
	}
	return r, nil
}

func validateSizes(r Request) error {
	for name, v := range map[string]string{"action": string(r.Action), "database": r.Database, "kind": r.Kind,
		"backup": r.Backup, "target": r.Target, "mode": r.Mode, "consumers": r.Consumers, "source": r.Source} {
		if len(v) > MaxField {
			return reject("%s is %d bytes long, at most %d are allowed", name, len(v), MaxField)
		}
	}
	for name, list := range map[string][]string{"tables": r.Tables, "exclude_tables": r.ExcludeTables, "partitions": r.Partitions} {
		size := 0
		for _, v := range list {
			size += len(v)
		}
		if len(list) > MaxList || size > MaxListBytes || slices.Contains(list, TooLong) {
			return reject("%s names more than %d entries or %d bytes", name, MaxList, MaxListBytes)
		}
		for _, v := range list {
			if len(v) > MaxField {
				return reject("an entry of %s is %d bytes long, at most %d are allowed", name, len(v), MaxField)
			}
		}
	}
	return nil
}

// parseCancel: a cancel names, in its backup column, the id of the
// request to cancel, in its canonical form.
func parseCancel(r Job) error {
	if r.Backup == "" {
		return reject("cancel needs the id of the request to cancel in the backup column")
	}
	if !CanonicalID(r.Backup) {
		return reject("cancel: %q is not a request id (want 8-4-4-4-12 hex digits, as clickvault.requests shows them)", r.Backup)
	}
	return nil
}
