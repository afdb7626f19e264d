package setmodel

import (
	"fmt"
	"reflect"
	"slices"
	"time"
)

// StepState is how far a restore step got, as its record says.
type StepState string

const (
	StepPending StepState = "pending" // not sent: nothing of it can be in the target
	StepStarted StepState = "started" // sent; its outcome is unknown until looked at
	StepDone    StepState = "done"    // its RESTORE ended RESTORED (or a resume found its rows there)
	// A step that ended otherwise; Error says why. A later run of the
	// restore takes it up again (Reopen).
	StepFailed   StepState = "failed"   // its RESTORE failed, or it could not run (a target not empty, a conflict)
	StepRejected StepState = "rejected" // the requester may not restore on its node (grants are each node's own)
)

// RestoreRecord is a set's restore into one target database of one target
// cluster, kept in the bucket (one per set and target; written with
// If-None-Match, then If-Match), so that running the restore again, after
// a crash or as a new request, adds nothing twice: it runs only the steps
// not done, and a step whose outcome is unknown is judged by the rows it
// would have added (ResumeStep).
type RestoreRecord struct {
	Version       int    `json:"version"`
	Set           string `json:"set"`
	Database      string `json:"database"` // the set's database
	Target        string `json:"target"`   // the database restored into
	TargetCluster string `json:"target_cluster"`
	// TargetClusterName is the target cluster's name (remote_servers) as its
	// requester's node knows it: only that cluster's nodes run the steps.
	TargetClusterName string `json:"target_cluster_name,omitempty"`
	// SourceCluster is the cluster (its id in the bucket) whose set this
	// restores, when not the target cluster's own: the record is then in
	// the target cluster's folder (ClusterLayout.SourceRestoreKey).
	SourceCluster string `json:"source_cluster,omitempty"`
	// SourceCopy is the [[copy]] target the steps not done read their
	// backups from ("" = the primary bucket): the run that reopened them
	// asked for it, and their folders are the copy's.
	SourceCopy string       `json:"source_copy,omitempty"`
	RequestID  string       `json:"request_id"` // the request that began it
	Shard      int          `json:"shard"`      // 0 = every shard
	Map        ShardMap     `json:"map"`
	Steps      []StepRecord `json:"steps"`
	CreatedAt  time.Time    `json:"created_at"`
	// Run is the request running it now, RequestedBy its requester (each
	// node checks that login's grants on itself before its steps), and
	// Deadline when that request gives up on steps not done.
	Run         string    `json:"run"`
	RequestedBy string    `json:"requested_by"`
	Operator    bool      `json:"operator,omitempty"` // the sidecar's own request: exempt from each node's grants
	Deadline    time.Time `json:"deadline"`
	// Missing are source shards the set has no backup of (a named partial
	// set), and why.
	Missing map[int]string `json:"missing,omitempty"`
}

// StepRecord is one step of a restore, as far as it got. Before is
// written with the state started, before the RESTORE is sent.
type StepRecord struct {
	Key   string    `json:"key"`
	State StepState `json:"state"`
	// What it restores and where: the step as planned (RestoreStep).
	Target  int      `json:"target_shard"`
	Replica int      `json:"replica"`
	Source  int      `json:"source_shard"`
	Backup  string   `json:"backup"`
	Folder  string   `json:"folder"`
	Copy    string   `json:"copy,omitempty"` // the [[copy]] target Folder is in ("" = the primary bucket)
	Kind    StepKind `json:"kind"`
	Except  []string `json:"except,omitempty"`
	// Node is the sidecar that ran it; Error why it failed or was rejected.
	Node        string `json:"node,omitempty"`
	Error       string `json:"error,omitempty"`
	OperationID string `json:"operation_id,omitempty"` // the RESTORE's id on the target server
	// OperationCopy is the [[copy]] target that RESTORE read: a later run
	// may point the step elsewhere, and the operation is awaited through
	// its own source's engine (whose errors have its credentials taken out).
	OperationCopy string    `json:"operation_copy,omitempty"`
	Settings      []Setting `json:"settings"`
	// Tables are the tables the step restores (definitions, and rows for a
	// data step); Adds the rows a data step adds to each, the source
	// shard's rows at backup time (ShardResult.Tables).
	Tables []string          `json:"tables"`
	Adds   map[string]uint64 `json:"adds,omitempty"`
	// Before are the rows of each of Tables on the step's replica just
	// before it was sent; a table not there then is absent.
	Before map[string]uint64 `json:"before,omitempty"`
	// Held are the tables a restore of one shard alone left as they were,
	// holding rows on the step's replica, with those rows (see held).
	Held       map[string]uint64 `json:"held,omitempty"`
	StartedAt  *time.Time        `json:"started_at,omitempty"`
	FinishedAt *time.Time        `json:"finished_at,omitempty"`
}

// NewRestoreRecord is the record of a plan about to run: every step
// pending, with the tables and rows it restores.
func NewRestoreRecord(p RestorePlan, results map[int]ShardResult, requestID, targetCluster string, at time.Time) RestoreRecord {
	rec := RestoreRecord{Version: SetVersion, Set: p.Set, Database: p.SourceDatabase, Target: p.Database,
		TargetCluster: targetCluster, RequestID: requestID, Run: requestID, Shard: p.Shard, Map: p.Map, CreatedAt: at}
	if len(p.Missing) > 0 {
		rec.Missing = p.Missing
	}
	for _, s := range p.Steps {
		sr := StepRecord{Key: s.Key, State: StepPending, Settings: s.Settings, Target: s.Target, Replica: s.Replica,
			Source: s.Source, Backup: s.Backup, Folder: s.Folder, Kind: s.Kind, Except: s.Except}
		for t, rows := range results[s.Source].Tables {
			if slices.Contains(s.Except, t) {
				continue
			}
			sr.Tables = append(sr.Tables, t)
			if s.Kind == StepData {
				if sr.Adds == nil {
					sr.Adds = map[string]uint64{}
				}
				sr.Adds[t] = rows
			}
		}
		slices.Sort(sr.Tables)
		rec.Steps = append(rec.Steps, sr)
	}
	return rec
}

// Matches refuses to go on with a record begun for another restore: the
// same set and target mapped otherwise (the target cluster's shards or
// replicas changed, another data replica, or one shard asked for) would
// restore rows twice or not at all. The steps' keys name the target shard,
// replica and source of each, so equal keys are the same steps.
func (r RestoreRecord) Matches(p RestorePlan) error {
	var keys []string
	for _, s := range p.Steps {
		keys = append(keys, s.Key)
	}
	var had []string
	for _, s := range r.Steps {
		had = append(had, s.Key)
	}
	if r.Set != p.Set || r.Target != p.Database || r.Shard != p.Shard || !reflect.DeepEqual(r.Map.Placements, p.Map.Placements) ||
		!slices.Equal(keys, had) {
		return fmt.Errorf("the restore of set %s into %s was begun by request %s at %s with steps %v; this one would run %v: "+
			"finish or drop that one first", r.Set, r.Target, r.RequestID, r.CreatedAt.UTC().Format(time.RFC3339), had, keys)
	}
	return nil
}

// What names the restore in messages: the set, or one shard of it.
func (r RestoreRecord) What() string {
	if r.Shard != 0 {
		return fmt.Sprintf("shard %d of set %s", r.Shard, r.Set)
	}
	return "set " + r.Set
}

// Remaining are the steps not done, in order: none once the restore has
// run whole, so a second run adds nothing.
func (r RestoreRecord) Remaining() []StepRecord {
	var out []StepRecord
	for _, s := range r.Steps {
		if s.State != StepDone {
			out = append(out, s)
		}
	}
	return out
}

// Reopen readies a record for another run of the restore (a new request,
// or the same one after its deadline): each failed or rejected step runs
// again, judged by its rows if its RESTORE was sent (started) or whole if
// it never was (pending). Done steps stay done.
func (r *RestoreRecord) Reopen() {
	for i := range r.Steps {
		s := &r.Steps[i]
		if s.State != StepFailed && s.State != StepRejected {
			continue
		}
		s.State, s.Error, s.FinishedAt = StepPending, "", nil
		if s.OperationID != "" {
			s.State = StepStarted
		}
	}
}

// Ended reports whether no step can move any more in this run: every step
// done, failed or rejected.
func (r RestoreRecord) Ended() bool {
	for _, s := range r.Steps {
		if s.State == StepPending || s.State == StepStarted {
			return false
		}
	}
	return true
}

// Step returns the step of key, for changing it.
func (r *RestoreRecord) Step(key string) *StepRecord {
	for i := range r.Steps {
		if r.Steps[i].Key == key {
			return &r.Steps[i]
		}
	}
	return nil
}
