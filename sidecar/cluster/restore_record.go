package cluster

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
)

// RestoreRecord is a set's restore into one target database of one target
// cluster, kept in the bucket (one per set and target; written with
// If-None-Match, then If-Match), so that running the restore again, after
// a crash or as a new request, adds nothing twice: it runs only the steps
// not done, and a step whose outcome is unknown is judged by the rows it
// would have added (ResumeStep).
type RestoreRecord struct {
	Version       int          `json:"version"`
	Set           string       `json:"set"`
	Database      string       `json:"database"` // the set's database
	Target        string       `json:"target"`   // the database restored into
	TargetCluster string       `json:"target_cluster"`
	RequestID     string       `json:"request_id"` // the request that began it
	Shard         int          `json:"shard"`      // 0 = every shard
	Map           ShardMap     `json:"map"`
	Steps         []StepRecord `json:"steps"`
	CreatedAt     time.Time    `json:"created_at"`
}

// StepRecord is one step of a restore, as far as it got. Before is
// written with the state started, before the RESTORE is sent.
type StepRecord struct {
	Key         string    `json:"key"`
	State       StepState `json:"state"`
	OperationID string    `json:"operation_id,omitempty"` // the RESTORE's id on the target server
	Settings    []Setting `json:"settings"`
	// Tables are the tables the step restores (definitions, and rows for a
	// data step); Adds the rows a data step adds to each, the source
	// shard's rows at backup time (ShardResult.Tables).
	Tables []string          `json:"tables"`
	Adds   map[string]uint64 `json:"adds,omitempty"`
	// Before are the rows of each of Tables on the step's replica just
	// before it was sent; a table not there then is absent.
	Before     map[string]uint64 `json:"before,omitempty"`
	StartedAt  *time.Time        `json:"started_at,omitempty"`
	FinishedAt *time.Time        `json:"finished_at,omitempty"`
}

// NewRestoreRecord is the record of a plan about to run: every step
// pending, with the tables and rows it restores.
func NewRestoreRecord(p RestorePlan, results map[int]ShardResult, requestID, targetCluster string, shard int, at time.Time) RestoreRecord {
	rec := RestoreRecord{Version: SetVersion, Set: p.Set, Database: p.SourceDatabase, Target: p.Database,
		TargetCluster: targetCluster, RequestID: requestID, Shard: shard, Map: p.Map, CreatedAt: at}
	for _, s := range p.Steps {
		sr := StepRecord{Key: s.Key, State: StepPending, Settings: s.Settings}
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
	if r.Set != p.Set || r.Target != p.Database || !reflect.DeepEqual(r.Map.Placements, p.Map.Placements) || !slices.Equal(keys, had) {
		return fmt.Errorf("the restore of set %s into %s was begun by request %s at %s with steps %v; this one would run %v: "+
			"finish or drop that one first", r.Set, r.Target, r.RequestID, r.CreatedAt.UTC().Format(time.RFC3339), had, keys)
	}
	return nil
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
