package control

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
)

// ClusterSets backs a whole cluster up as one set (package cluster): one
// backup per shard, each taken by one replica of the shard through its own
// sidecar; restores a set, each node restoring its own shard; and keeps
// and deletes whole sets. On a cluster node (Options.Sets set) backup,
// restore and cleanup requests act on sets instead of this node alone.
type ClusterSets interface {
	// BackupSet makes the request's set (or finds the one a run before a
	// restart made: req.ID) and returns once it is sealed, telling progress
	// the set's name first and then as shards end.
	BackupSet(ctx context.Context, req SetRequest, progress func(set, message string)) (SetOutcome, error)
	// RestoreSet restores a set into the cluster and returns once every
	// node's steps have ended, or the restore's deadline passed; progress
	// gets the set's name first. An error wrapping ErrRejected refuses the
	// request before anything was written.
	RestoreSet(ctx context.Context, req SetRestoreRequest, progress func(set, message string)) (SetRestoreOutcome, error)
	// CleanupSets applies retention to a database's sets: whole sets, and
	// a shard's backups only when no kept set needs them.
	CleanupSets(ctx context.Context, database string, dryRun bool) (SetCleanupOutcome, error)
	// SetIDs lists the sets of a database in the bucket, oldest first (one
	// LIST), and ReadSet reads one (coord.ErrNotFound when it is gone): the sets
	// table mirrors them.
	SetIDs(ctx context.Context, database string) ([]string, error)
	ReadSet(ctx context.Context, database, id string) (SetSummary, error)
}

// SetSummary is one set as the catalog lists it: what set.json says.
type SetSummary struct {
	ID          string            `json:"id"`
	Database    string            `json:"database"`
	State       setmodel.SetState `json:"state"` // setmodel.SetDeleted in the sets table once gone from the bucket
	Kind        string            `json:"kind"`
	Shards      []int             `json:"shards"`
	RequestedBy string            `json:"requested_by"`
	CreatedAt   time.Time         `json:"created_at"`
	SealedAt    *time.Time        `json:"sealed_at,omitempty"`
	Reasons     map[string]string `json:"reasons,omitempty"` // per shard ("shard-2"), why a partial set lacks it
	// LastShardStart is when the last of its shards' backups started, as
	// the seal recorded it: its time for as_of (setmodel.Set.DataTime).
	LastShardStart *time.Time `json:"last_shard_start,omitempty"`
}

// SetRequest is a backup request, as a set is asked for.
type SetRequest struct {
	Database    string
	Kind        string // full, incremental, or "auto"
	RequestID   string
	RequestedBy string
	// Operator says the request is the sidecar's own (its proof checked:
	// the schedule, HTTP, the CLI): each node exempts it from its grants by
	// this, never by the requester's name, as logins differ per node.
	Operator bool
	// ID is the set a run before a restart made for this request ("" for
	// a new request): a set sealed meanwhile is answered, not made again.
	ID string
}

// SetOutcome is how a set ended: completed, or partial with a reason per
// missing shard.
type SetOutcome struct {
	ID     string
	State  setmodel.SetState // completed or partial
	Shards []ShardOutcome
}

// ShardOutcome is how one shard's backup of a set ended.
type ShardOutcome struct {
	Shard  int
	State  setmodel.ShardState // succeeded, failed, rejected, or missing (no result by the deadline)
	Node   string              // the sidecar that took it
	Backup string              // its backup, in the shard's chains
	Kind   string
	Reason string // why it failed, was rejected or is missing
}

// ShardStates counts the set's shards by how they ended.
func (o SetOutcome) ShardStates() map[setmodel.ShardState]int {
	n := map[setmodel.ShardState]int{}
	for _, s := range o.Shards {
		n[s.State]++
	}
	return n
}

// Completed reports whether every shard's backup succeeded.
func (o SetOutcome) Completed() bool { return o.State == setmodel.SetCompleted }

// Message says per shard how the set went, for request_status.
func (o SetOutcome) Message() string {
	parts := make([]string, 0, len(o.Shards))
	for _, s := range o.Shards {
		switch {
		case s.State == setmodel.ShardSucceeded:
			parts = append(parts, fmt.Sprintf("shard %d succeeded: %s backup %s by %s", s.Shard, s.Kind, s.Backup, s.Node))
		case s.Reason != "":
			parts = append(parts, fmt.Sprintf("shard %d %s: %s", s.Shard, s.State, s.Reason))
		default:
			parts = append(parts, fmt.Sprintf("shard %d %s", s.Shard, s.State))
		}
	}
	return fmt.Sprintf("set %s %s: %s", o.ID, o.State, strings.Join(parts, "; "))
}

// executeSet runs a backup request as a set of the cluster: it succeeds
// when the set is completed, fails when it is partial (naming each shard).
// The running rows name the set, so a sidecar restarted meanwhile answers
// from that set rather than making another.
func (s *executor) executeSet(ctx context.Context, r Job, latest *LogEntry, rows *runningRows) (State, LogEntry) {
	req := SetRequest{Database: r.Database, Kind: string(r.Kind), RequestID: r.ID, RequestedBy: r.RequestedBy, Operator: r.Operator}
	if latest != nil && latest.State == StateRunning {
		req.ID = latest.Backup
	}
	made := false
	progress := func(set, msg string) {
		rows.add(s.logEntry(r.Request, StateRunning, LogEntry{Backup: set, Message: msg}))
		if !made { // the first word is the set's name: it exists and is recorded
			made = true
			s.fault("set-created")
		}
	}
	out, err := s.opts.Sets.BackupSet(ctx, req, progress)
	if err == nil {
		s.obs.SetSealed(r.Database, out.ShardStates())
	}
	if err != nil {
		return StateFailed, LogEntry{Backup: out.ID, Message: err.Error()}
	}
	if !out.Completed() {
		return StateFailed, LogEntry{Backup: out.ID, Message: out.Message()}
	}
	return StateSucceeded, LogEntry{Backup: out.ID, Message: out.Message()}
}

// refuseOnCluster refuses, on a cluster node, what sets do not do: a
// backup of some tables (a set backs up whole databases), a request on a
// database the nodes do not list (the others would not step its sets), the
// restores a set's restore does not run (refuseSetRestoreShape), and a
// login's cleanup that deletes (refuseLoginCleanup).
func (s *admission) refuseOnCluster(j Job) error {
	if s.opts.Sets == nil {
		return nil
	}
	switch j.Action {
	case ActionBackup:
		if !j.Set.All() {
			return reject("on a cluster a backup is a set of whole databases, one backup per shard: " +
				"leave tables empty (and the database's table set unconfigured)")
		}
		if !slices.Contains(s.opts.Databases, j.Database) {
			return reject("database %s is not listed in databases on this cluster node: every node steps the sets "+
				"of the databases it lists, so list it on every node first", j.Database)
		}
	case ActionRestore, ActionCleanup:
		if !slices.Contains(s.opts.Databases, j.Database) {
			return reject("database %s is not listed in databases on this cluster node: every node steps the sets "+
				"of the databases it lists, so list it on every node first", j.Database)
		}
		if err := refuseLoginCleanup(j); err != nil {
			return err
		}
		return refuseSetRestoreShape(j)
	}
	return nil
}

// refuseLoginCleanup refuses a login's cleanup that deletes: it deletes
// every shard's backups, but this node can check the login's DROP TABLE on
// its own server only, and grants are each node's own (a login may drop
// tables here and not on another node). The operator's cleanup request (a
// signed row, as POST /v1/cleanup makes) needs no grant, nor does the CLI's
// cleanup (no request at all); a dry run deletes nothing.
func refuseLoginCleanup(j Job) error {
	if j.Action != ActionCleanup || j.Operator || j.DryRun {
		return nil
	}
	return reject("on a cluster a cleanup deletes every shard's backups, and this node can check DROP TABLE on %s "+
		"on its own server only: ask the operator (POST /v1/cleanup, or `clickvault cleanup`), "+
		"or ask with dry_run = true to see what it would delete", j.Database)
}
