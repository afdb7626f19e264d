package control

import (
	"context"
	"fmt"
	"slices"

	"github.com/clickvault/clickvault/sidecar/model"
)

// authorize: the requester needs ClickHouse's own grants for the action, and
// must be on the allow-list if one is configured. See rightsFor. g is the
// authorization's rightsLookup of r.RequestedBy: every right is asked of one read.
func (s *admission) authorize(ctx context.Context, g *rightsLookup, r Job) error {
	if len(s.opts.AllowUsers) > 0 && !slices.Contains(s.opts.AllowUsers, r.RequestedBy) {
		return reject("user %q is not on the sidecar's allow-list", r.RequestedBy)
	}
	if s.auth == nil {
		return nil
	}
	for _, n := range s.rightsFor(r) {
		ok, err := g.can(ctx, n.privilege, n.database, n.table)
		if err != nil {
			return fmt.Errorf("check grants of %s: %w", r.RequestedBy, err)
		}
		if !ok {
			return reject("user %q lacks %s on %s (%s), which %s needs", r.RequestedBy, n.privilege, n.on(), n.why, r.Action)
		}
	}
	return nil
}

// right is one privilege a request needs, on one table of a database or,
// with table "", on every table of it.
type right struct {
	privilege Privilege
	database  string
	table     string
	why       string
}

func (r right) on() string {
	if r.table == "" {
		return "database " + r.database
	}
	return "table " + r.database + "." + r.table
}

// rightsFor lists what the requester must hold: BACKUP on the database for
// backup, verify and cleanup (on each table, for a backup of some tables).
// A restore reads the source's data, so it needs SELECT on the source (as
// reading it live would), and writes the target: CREATE TABLE and INSERT on
// it, and CREATE DATABASE when it does not exist; a restore of some tables
// needs these on each source and target table, and DROP TABLE on each
// target it replaces. Deleting backups (a cleanup that is not a dry run) or
// possibly starting a new chain (kind full, or a table set of the
// request's own, which push the oldest chain out of retention) takes DROP
// TABLE on the database too: whoever may drop its tables may drop their
// backups, and an operator grants that on purpose. The sidecar's own user
// (its schedule, its HTTP write tokens) is the operator's and needs no more.
func (s *admission) rightsFor(r Job) []right {
	if r.Action == ActionRestore {
		return restoreRights(r)
	}
	var needs []right
	if r.Action == ActionBackup && len(r.Set.Include) > 0 {
		for _, t := range r.Set.Include {
			needs = append(needs, right{PrivBackup, r.Database, t, "a table backed up"})
		}
	} else {
		needs = append(needs, right{PrivBackup, r.Database, "", "the database backed up"})
	}
	destructive := (r.Action == ActionCleanup && !r.DryRun) ||
		(r.Action == ActionBackup && (r.Kind == model.KindFull || r.OwnTableSet))
	if destructive && !r.Operator {
		needs = append(needs, right{PrivDropTable, r.Database, "", "deleting backups or starting a new chain takes it"})
	}
	return needs
}

func restoreRights(r Job) []right {
	var needs []right
	if len(r.Restores) == 0 {
		needs = []right{
			{PrivSelect, r.Database, "", "the restore's source: it reads its data"},
			{PrivCreate, r.Target, "", "the restore's target"},
		}
		if r.RestoreMode != model.ModeSchema {
			needs = append(needs, right{PrivInsert, r.Target, "", "the restore's target"})
		}
	}
	for _, t := range r.Restores {
		needs = append(needs, right{PrivSelect, r.Database, t.Source, "a restored table's source: it reads its data"},
			right{PrivCreate, r.Target, t.Target, "a restored table"})
		if r.RestoreMode != model.ModeSchema {
			needs = append(needs, right{PrivInsert, r.Target, t.Target, "a restored table"})
		}
		switch {
		case r.RestoreMode == model.ModeReplace && len(r.Partitions) > 0:
			needs = append(needs, right{PrivAlterDelete, r.Target, t.Target,
				"replacing partitions in place runs ALTER TABLE … REPLACE PARTITION, which needs it (and INSERT)"})
		case r.RestoreMode == model.ModeReplace:
			needs = append(needs, right{PrivDropTable, r.Target, t.Target, "mode replace swaps the restored copy in and drops the old table"})
		}
	}
	if !r.TargetExists {
		needs = append(needs, right{PrivCreateDatabase, r.Target, "", "the restore's target, which does not exist yet"})
	}
	return needs
}
