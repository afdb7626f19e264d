package setmodel

import (
	"fmt"
	"slices"
	"strings"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// StepKind is what a restore step reads from its backup.
type StepKind string

const (
	StepData   StepKind = "data"   // definitions and rows
	StepSchema StepKind = "schema" // definitions only (structure_only)
)

// RestoreStep is one RESTORE on one replica of a target shard, from one
// source shard's backup of the set.
type RestoreStep struct {
	Key     string // stable across retries: "t1-r1-s3-data"
	Target  int    // the target shard
	Replica int    // the replica of the target shard that runs it
	Source  int    // the source shard whose backup it reads
	Backup  string // that shard's backup in the set (ShardResult.Backup)
	Folder  string
	Kind    StepKind
	// Except are tables left out: the replicated tables, on a replica that
	// is not its shard's data replica (their rows come by replication).
	Except   []string
	Settings []Setting
}

// RestoreInput is what a set's restore is planned from.
type RestoreInput struct {
	Set      Set
	Results  map[int]ShardResult // the set's shard results
	Shard    int                 // 0 = every shard; else that source shard alone
	Target   Topology            // the cluster restored into
	Database string              // the target database ("" = the set's)
	// Tables are the backup's tables with their engines (system.tables
	// shape): Replicated* ones get their rows once per target shard.
	Tables []TableRow
	// DataReplicas names, per target shard, the replica that restores the
	// replicated tables' rows (missing = its lowest replica).
	DataReplicas map[int]int
}

// RestorePlan is a set's restore: where each source shard goes and the
// steps, in the order they run.
type RestorePlan struct {
	Set            string
	Shard          int    // the source shard restored alone (0 = every shard)
	SourceDatabase string // the set's database, as its backups name it
	Database       string // the database restored into
	Map            ShardMap
	Missing        map[int]string // source shards not restored, and why (a named partial set)
	Steps          []RestoreStep
}

// PlanRestore plans a set's restore onto a target cluster. Per target
// shard, the data replica runs one data step per source shard placed
// there; the other replicas, when the backup has replicated tables, first
// restore the definitions only (their replicated tables then fetch the
// rows the data replica restores: restoring them again would double them),
// then the rows of the other tables, which no replication carries; without
// replicated tables every replica restores everything. See restoreSettings
// for the settings each step needs.
func PlanRestore(in RestoreInput) (RestorePlan, error) {
	db := in.Database
	if db == "" {
		db = in.Set.Database
	}
	plan := RestorePlan{Set: in.Set.ID, Shard: in.Shard, SourceDatabase: in.Set.Database, Database: db, Missing: map[int]string{}}
	var sources []int
	for _, n := range in.Set.Shards {
		_, reason := in.Set.Reasons[coord.ShardFolder(n)]
		switch r, ok := in.Results[n]; {
		case ok && r.State == ShardSucceeded && r.Backup != "":
			sources = append(sources, n)
		case in.Shard != 0 && in.Shard != n:
		case !ok && !reason:
			// Sealed, every shard without a backup was given a reason:
			// this one's result was lost (a copy missing an object).
			return RestorePlan{}, fmt.Errorf("%w: set %s is %s, but shard %d's result (shard-%d.json) is not in the bucket: "+
				"its records are damaged, and restoring it would leave that shard empty; restore another set", ErrNoSet,
				in.Set.ID, in.Set.State, n, n)
		default:
			plan.Missing[n] = missingText(in.Set, n)
		}
	}
	if in.Shard != 0 && !slices.Contains(sources, in.Shard) {
		return RestorePlan{}, fmt.Errorf("%w: shard %d of set %s has no backup: %s", ErrNoSet, in.Shard, in.Set.ID, plan.Missing[in.Shard])
	}
	// Every shard of the set is placed, those without a backup too, so a
	// partial set's shards go where the whole set's would.
	m, err := MapShards(in.Set.Shards, in.Target.ShardNums(), in.Shard)
	if err != nil {
		return RestorePlan{}, fmt.Errorf("plan the restore of set %s: %w", in.Set.ID, err)
	}
	m = m.Without(slices.DeleteFunc(slices.Clone(in.Set.Shards), func(n int) bool { return slices.Contains(sources, n) }))
	plan.Map = m
	replicated := replicatedTables(in.Set.Database, in.Tables)
	for _, p := range m.Placements {
		shard, _ := in.Target.Shard(p.Target)
		data := dataReplica(shard, in.DataReplicas[p.Target])
		plan.Steps = append(plan.Steps, stepsOf(p, data, in, replicated, false)...)
		for _, r := range shard.Replicas {
			if r.Num != data {
				plan.Steps = append(plan.Steps, stepsOf(p, r.Num, in, replicated, true)...)
			}
		}
	}
	plan.Steps = append(plan.Steps, emptyShardSteps(m.Idle, sources, in)...)
	return plan, nil
}

// emptyShardSteps give each replica of a target shard that gets no data
// (ShardMap.Idle: the target has more shards than the set, or a partial
// set's sources placed there have no backup) every table, empty: the
// definitions of the first source shard's backup (structure_only). A
// Distributed table over the whole target reads each shard's local table,
// and one missing there would fail every query of it. They create only
// what is not there (create_table = 'if not exists'): they write no rows,
// so tables an operator made there before are left as they are.
func emptyShardSteps(idle, sources []int, in RestoreInput) []RestoreStep {
	if len(sources) == 0 {
		return nil
	}
	src := in.Results[sources[0]]
	var steps []RestoreStep
	for _, t := range idle {
		shard, _ := in.Target.Shard(t)
		for _, r := range shard.Replicas {
			steps = append(steps, RestoreStep{Key: fmt.Sprintf("t%d-r%d-s%d-%s", t, r.Num, sources[0], StepSchema),
				Target: t, Replica: r.Num, Source: sources[0], Backup: src.Backup, Folder: src.Folder, Kind: StepSchema,
				Settings: restoreSettings(StepSchema, false, false)})
		}
	}
	return steps
}

// stepsOf are one replica's steps for the sources placed on its shard.
// other is a replica that is not the shard's data replica. A restore of
// one shard alone creates no table anew (create_table = 'if not exists'):
// it repairs a shard whose database may be there, restoring the tables
// absent or empty and leaving those that hold rows (nodeSteps.held).
func stepsOf(p Placement, replica int, in RestoreInput, replicated []string, other bool) []RestoreStep {
	var steps []RestoreStep
	creates := in.Shard == 0
	step := func(src int, kind StepKind, except []string, settings []Setting) {
		r := in.Results[src]
		steps = append(steps, RestoreStep{Key: fmt.Sprintf("t%d-r%d-s%d-%s", p.Target, replica, src, kind),
			Target: p.Target, Replica: replica, Source: src, Backup: r.Backup, Folder: r.Folder, Kind: kind,
			Except: except, Settings: settings})
	}
	if other && len(replicated) > 0 {
		step(p.Sources[0], StepSchema, nil, restoreSettings(StepSchema, creates, false))
		for i, src := range p.Sources {
			step(src, StepData, replicated, restoreSettings(StepData, false, i > 0))
		}
		return steps
	}
	for i, src := range p.Sources {
		step(src, StepData, nil, restoreSettings(StepData, creates && i == 0, i > 0))
	}
	return steps
}

// restoreSettings are the RESTORE settings of a step. The first step on a
// replica creates every table (create_table = 'create', the engine's
// default: a table someone else made meanwhile fails the restore instead
// of being written into). Every later step finds the tables the steps
// before it made: create_table = 'if not exists' restores into them (a
// table only that source shard has is still created). A data step onto
// tables that hold an earlier source's rows needs allow_non_empty_tables
// = 1: RESTORE refuses a non-empty table without it (CANNOT_RESTORE_TABLE,
// "already contains some data"); it is set only there, so a table holding
// anyone else's rows still fails the restore. A schema step is
// structure_only = 1. allow_different_table_def is never set: shards whose
// definitions differ are refused rather than mixed.
func restoreSettings(kind StepKind, creates, nonEmpty bool) []Setting {
	s := []Setting{{Name: "create_table", Value: "'if not exists'"}}
	if creates {
		s[0].Value = "'create'"
	}
	if kind == StepSchema {
		s = append(s, Setting{Name: "structure_only", Value: "1"})
	}
	if nonEmpty {
		s = append(s, Setting{Name: "allow_non_empty_tables", Value: "1"})
	}
	return s
}

// SQL renders the step's RESTORE of source database db into target, from
// the backup at from (the engine's S3(…) of the step's Folder, which holds
// credentials or a named collection and is not the plan's business). The
// engine adds the operation id and ASYNC.
func (s RestoreStep) SQL(db, target, from string) string {
	what := "DATABASE " + quoteIdent(db) + " AS " + quoteIdent(target)
	if len(s.Except) > 0 {
		parts := make([]string, len(s.Except))
		for i, t := range s.Except {
			parts[i] = quoteIdent(db) + "." + quoteIdent(t)
		}
		what += " EXCEPT TABLES " + strings.Join(parts, ", ")
	}
	settings := make([]string, len(s.Settings))
	for i, set := range s.Settings {
		settings[i] = set.Name + " = " + set.Value
	}
	return fmt.Sprintf("RESTORE %s FROM %s SETTINGS %s", what, from, strings.Join(settings, ", "))
}

// dataReplica is the replica named for a shard, or its lowest.
func dataReplica(s Shard, named int) int {
	for _, r := range s.Replicas {
		if r.Num == named {
			return named
		}
	}
	if len(s.Replicas) == 0 {
		return 0
	}
	return s.Replicas[0].Num
}

// replicatedTables are the Replicated* tables of database, in order.
func replicatedTables(database string, tables []TableRow) []string {
	var out []string
	for _, t := range tables {
		if t.Database == database && isReplicated(t.Engine) {
			out = append(out, t.Name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// missingText says why shard n of a set has no backup to restore.
func missingText(s Set, n int) string {
	if r, ok := s.Reasons[coord.ShardFolder(n)]; ok {
		return r
	}
	return "no successful result"
}
