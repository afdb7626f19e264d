package control

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/model"
)

// SetRestoreRequest is a restore request, as a set's restore is asked for.
type SetRestoreRequest struct {
	Database string    // the set's database
	Target   string    // the database restored into ("" = Database)
	Set      string    // a set by name ("" = the newest completed, at or before AsOf)
	AsOf     time.Time // zero = the newest
	// Shard is the one source shard of the set restored (0 = every shard):
	// onto the target shard the whole set's restore would place it on.
	Shard int
	// SourceCluster is the cluster (its id in the bucket) whose set is
	// restored onto this one ("" = this cluster's own): the sidecar's own
	// requests only (the CLI), as a login's grants on this cluster say
	// nothing of another's data.
	SourceCluster string
	// SourceCopy is the [[copy]] target the set and its backups are read
	// from ("" = the primary bucket): the request's source.
	SourceCopy string
	// Consumers is what to do with the tables that consume or write
	// outside the target: refuse the restore (the default) or skip them.
	Consumers   model.Consumers
	DryRun      bool // answer with the plan, restore nothing
	RequestID   string
	RequestedBy string
	Operator    bool // the sidecar's own request (SetRequest.Operator)
}

// SetRestoreState is how a set's restore ended.
type SetRestoreState string

const (
	SetRestored       SetRestoreState = "restored" // every step done
	SetRestoreFailed  SetRestoreState = "failed"   // a step failed or was rejected; the steps say which
	SetRestorePlanned SetRestoreState = "planned"  // a dry run: nothing was restored
)

// SetRestoreOutcome is how a set's restore ended, step by step.
type SetRestoreOutcome struct {
	Set           string
	Shard         int    // the source shard restored alone (0 = every shard)
	SourceCluster string // the cluster whose set it is, when not this one (SetRestoreRequest.SourceCluster)
	SourceCopy    string // the [[copy]] target its backups were read from ("" = the primary bucket)
	Target        string
	State         SetRestoreState
	// Ran is how many steps this run ran (0: the record said every step
	// was done already: a second run adds nothing).
	Ran   int
	Steps []StepOutcome
	// Notes say what the plan said: source shards sharing a target shard,
	// target shards that get nothing, source shards the set lacks.
	Notes []string
}

// StepOutcome is one RESTORE of a set's restore: a source shard's backup
// onto one replica of a target shard.
type StepOutcome struct {
	Key     string // t1-r1-s1-data: target shard, replica, source shard, kind
	State   setmodel.StepState
	Node    string // the sidecar that ran it
	Rows    uint64 // the rows it adds (the source shard's at backup time)
	Problem string // why it failed or was rejected
	// Held are the tables a restore of one shard alone left as they were,
	// holding rows on the node, with those rows.
	Held map[string]uint64
}

// Restored reports whether every step is done.
func (o SetRestoreOutcome) Restored() bool { return o.State == SetRestored }

// Message says step by step how the restore went, for request_status.
func (o SetRestoreOutcome) Message() string {
	var done, other []string
	for _, s := range o.Steps {
		switch {
		case s.State == setmodel.StepDone && len(s.Held) > 0:
			done = append(done, fmt.Sprintf("%s (%d rows, %s; left as they were, holding rows: %s)", s.Key, s.Rows, s.Node, heldText(s.Held)))
		case s.State == setmodel.StepDone:
			done = append(done, fmt.Sprintf("%s (%d rows, %s)", s.Key, s.Rows, s.Node))
		case s.Problem != "":
			other = append(other, fmt.Sprintf("%s %s: %s", s.Key, s.State, s.Problem))
		default:
			other = append(other, fmt.Sprintf("%s %s", s.Key, s.State))
		}
	}
	set := o.Set
	if o.SourceCluster != "" {
		set += " of cluster " + o.SourceCluster
	}
	if o.SourceCopy != "" {
		set += " (read from copy target " + o.SourceCopy + ")"
	}
	msg := fmt.Sprintf("set %s into %s %s", set, o.Target, o.State)
	if o.Shard != 0 {
		msg = fmt.Sprintf("shard %d of set %s into %s %s", o.Shard, set, o.Target, o.State)
	}
	switch {
	case o.State == SetRestorePlanned:
		msg += fmt.Sprintf(": %d steps, none run: %s", len(o.Steps), strings.Join(append(done, other...), "; "))
	case o.Ran == 0 && len(other) == 0:
		msg += ": every step was done by an earlier run; nothing added"
	default:
		if len(other) > 0 {
			msg += ": " + strings.Join(other, "; ")
			if len(done) > 0 {
				msg += "; done"
			}
		}
		if len(done) > 0 {
			msg += ": " + strings.Join(done, "; ")
		}
	}
	if len(o.Notes) > 0 {
		msg += " (" + strings.Join(o.Notes, "; ") + ")"
	}
	return msg
}

// heldText lists tables with their rows, in name order.
func heldText(held map[string]uint64) string {
	var out []string
	for _, t := range slices.Sorted(maps.Keys(held)) {
		out = append(out, fmt.Sprintf("%s (%d)", t, held[t]))
	}
	return strings.Join(out, ", ")
}

// SetCleanupOutcome is what a cleanup of sets deleted (or would delete),
// kept, and found wrong.
type SetCleanupOutcome struct {
	DryRun      bool
	DeletedSets []string
	// DeletedBackups are, per shard, the backups deleted with them.
	DeletedBackups map[int][]string
	KeptSets       int
	Problems       []string // kept sets whose chain is broken, deletes that failed, old request records not listed or deleted
	// DeletedRequestRecords counts the records of which set a request
	// made, deleted once older than the requests' own rows.
	DeletedRequestRecords int
}

// Message says what the cleanup did.
func (o SetCleanupOutcome) Message() string {
	verb := "deleted"
	if o.DryRun {
		verb = "would delete"
	}
	n := 0
	var shards []string
	for shard, names := range o.DeletedBackups {
		n += len(names)
		shards = append(shards, fmt.Sprintf("shard %d: %s", shard, strings.Join(names, ", ")))
	}
	msg := fmt.Sprintf("%s %d sets", verb, len(o.DeletedSets))
	if len(o.DeletedSets) > 0 {
		msg += " (" + strings.Join(o.DeletedSets, ", ") + ")"
	}
	msg += fmt.Sprintf(" and %d backups", n)
	if len(shards) > 0 {
		slices.Sort(shards)
		msg += " (" + strings.Join(shards, "; ") + ")"
	}
	msg += fmt.Sprintf("; kept %d sets", o.KeptSets)
	if o.DeletedRequestRecords > 0 {
		msg += fmt.Sprintf("; %s %d records of old requests' sets", verb, o.DeletedRequestRecords)
	}
	if len(o.Problems) > 0 {
		msg += "; " + strings.Join(o.Problems, "; ")
	}
	return msg
}

// refuseSetRestoreShape refuses what a set's restore does not run: some
// tables or partitions (a set restores whole databases, every shard's),
// mode schema or replace, and consumers = 'include' (restoring views
// stopped on every node is not built).
func refuseSetRestoreShape(j Job) error {
	if j.Action != ActionRestore {
		return nil
	}
	switch {
	case len(j.Restores) > 0 || len(j.Partitions) > 0:
		return reject("on a cluster a restore is of a set, every shard's whole database: leave tables and partitions " +
			"empty (one table of one shard: RESTORE … FROM S3 of that shard's backup by hand, docs/cluster.md)")
	case j.RestoreMode != model.ModeData:
		return reject("on a cluster a set's restore is mode data (into new or empty databases), not %s", j.RestoreMode)
	case j.Consumers == model.ConsumersInclude:
		return reject("on a cluster a set's restore takes consumers '' (refuse, naming them) or 'skip', not 'include'")
	}
	return nil
}

// executeSetRestore runs a restore request as a set's restore: it succeeds
// when every step is done on every node. The running rows name the set, so
// a sidecar restarted meanwhile goes on with that set's record rather than
// choose again (a newer set may have been made since).
func (s *executor) executeSetRestore(ctx context.Context, r Job, latest *LogEntry, rows *runningRows) (State, LogEntry) {
	req := SetRestoreRequest{Database: r.Database, Target: r.Target, Set: r.Backup, AsOf: r.AsOf, Shard: r.Shard,
		SourceCopy: r.Request.Source, Consumers: r.Consumers, DryRun: r.DryRun, RequestID: r.ID, RequestedBy: r.RequestedBy, Operator: r.Operator}
	if latest != nil && latest.State == StateRunning && latest.Backup != "" {
		req.Set, req.AsOf = latest.Backup, time.Time{}
	}
	progress := func(set, msg string) {
		rows.add(s.logEntry(r.Request, StateRunning, LogEntry{Backup: set, Message: msg}))
	}
	start := s.now()
	out, err := s.opts.Sets.RestoreSet(ctx, req, progress)
	state, entry := StateFailed, LogEntry{Backup: out.Set, Message: out.Message()}
	switch {
	case errors.Is(err, ErrRejected):
		return StateRejected, LogEntry{Backup: out.Set, Message: rejectionReason(err)}
	case err != nil:
		entry.Message = err.Error()
	case out.State == SetRestorePlanned:
		return StateSucceeded, entry
	case out.Restored():
		state = StateSucceeded
	}
	if ctx.Err() == nil { // a stopping sidecar answers after its restart
		e := sidecar.Event{Event: "restore_completed", Database: r.Database, Backup: out.Set, RequestID: r.ID,
			RequestedBy: r.Requester(), DurationSeconds: s.now().Sub(start).Seconds()}
		if state != StateSucceeded {
			e.Event, e.Error = "restore_failed", entry.Message
		}
		s.svc.Announce(ctx, e)
	}
	return state, entry
}

// executeSetCleanup runs a cleanup request as retention of sets.
func (s *executor) executeSetCleanup(ctx context.Context, r Job) (State, LogEntry) {
	out, err := s.opts.Sets.CleanupSets(ctx, r.Database, r.DryRun)
	if err != nil {
		return StateFailed, LogEntry{Message: out.Message() + "; " + err.Error()}
	}
	return StateSucceeded, LogEntry{Message: out.Message()}
}
