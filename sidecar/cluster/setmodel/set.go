package setmodel

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// SetVersion is the version of set.json, shard-{n}.json and open.json.
const SetVersion = 1

// SetState is where a set is: open while its shards are backed up, then
// sealed once, completed or partial; deleting once a cleanup chose to
// delete it.
type SetState string

const (
	SetOpen      SetState = "open"
	SetCompleted SetState = "completed" // every shard's backup succeeded
	SetPartial   SetState = "partial"   // some shard has none; Reasons says why, per shard
	// SetDeleting is a set a cleanup is deleting: no restore chooses it and
	// no policy keeps it, and its records go only after every backup only
	// it needed, so a cleanup stopped part way (a pinned backup, an S3
	// error, a kill) leaves a set the next cleanup finishes.
	SetDeleting SetState = "deleting"
	// SetDeleted is a state of the sets table only, never of set.json: the
	// set is gone from the bucket (retention deleted it).
	SetDeleted SetState = "deleted"
)

// Kinds a set decides for all its shards. A shard with no completed full
// of its own takes a full in an incremental set (ShardResult.Kind says).
const (
	KindFull        = "full"
	KindIncremental = "incremental"
)

// Requester is who asked for a set or its restore, as each node checks
// its own grants: a login, or the sidecar's own request (Operator), which
// no node checks — by this flag, never by the login's name, as the
// sidecars' logins may differ from node to node.
type Requester struct {
	Login    string
	Operator bool
	// NewChain: the login asked for a full set, which starts a new chain
	// of every shard and so pushes the oldest out of retention; a login
	// needs DROP TABLE for it, on each node, as on a single server.
	NewChain bool
}

// Set is set.json: one backup of every shard of a database, asked once.
// It is created once (If-None-Match) and rewritten once, when sealed
// (If-Match), by whichever sidecar seals it.
type Set struct {
	Version     int    `json:"version"`
	ID          string `json:"id"` // a time-ordered name, or a schedule slot's
	Database    string `json:"database"`
	Cluster     string `json:"cluster"` // the cluster's name in system.clusters
	ClusterID   string `json:"cluster_id"`
	Kind        string `json:"kind"` // full or incremental, for every shard
	KindReason  string `json:"kind_reason"`
	RequestID   string `json:"request_id"`
	RequestedBy string `json:"requested_by"`
	// Operator: the sidecar's own request; each node exempts it from its
	// grants by this flag, never by the requester's name.
	Operator bool `json:"operator,omitempty"`
	// FullAsked: kind full was asked for (not decided by auto), so each
	// node checks the login's DROP TABLE too (Requester.NewChain).
	FullAsked bool   `json:"full_asked,omitempty"`
	CreatedBy string `json:"created_by"` // the sidecar that created it
	// Shards are the shards the set backs up; Topology is the cluster as
	// its creator saw it in system.clusters.
	Shards    []int     `json:"shards"`
	Topology  []Shard   `json:"topology"`
	CreatedAt time.Time `json:"created_at"`
	// Deadline is when a shard with no result is given up (created_at plus
	// the creator's cluster.shard_timeout): every sidecar seals by it.
	Deadline time.Time `json:"deadline"`
	// LastShardStart is when the last of its shards' backups started
	// (set when sealed): a claim taken over, a replica's sync or a
	// sidecar back from a restart can start a shard up to
	// cluster.shard_timeout after CreatedAt, and that shard holds the rows
	// of then. So as_of judges a set by it (DataTime).
	LastShardStart *time.Time `json:"last_shard_start,omitempty"`
	State          SetState   `json:"state"`
	SealedAt       *time.Time `json:"sealed_at,omitempty"`
	SealedBy       string     `json:"sealed_by,omitempty"`
	// Reasons say, per shard ("shard-2"), why a partial set lacks it.
	Reasons map[string]string `json:"reasons,omitempty"`
	// Deleting are, per shard ("shard-2"), the backups a cleanup that marked
	// the set deleting was to delete with it: the set names them until they
	// are gone, even once a walk from its result could no longer reach them
	// (the result's own backup deleted first).
	Deleting map[string][]string `json:"deleting,omitempty"`
}

// DataTime is the set's time for as_of: when the last of its shards'
// backups started (CreatedAt for a set sealed before that was kept), to
// the millisecond, as the sets table shows it and an as_of is stored: the
// time shown, given as as_of, picks the set.
func (s Set) DataTime() time.Time {
	at := s.CreatedAt
	if s.LastShardStart != nil && s.LastShardStart.After(at) {
		at = *s.LastShardStart
	}
	return at.Truncate(time.Millisecond)
}

// Has reports whether the set backs up shard n.
func (s Set) Has(n int) bool { return slices.Contains(s.Shards, n) }

// ShardState is how one shard's backup of a set ended.
type ShardState string

const (
	ShardSucceeded ShardState = "succeeded"
	ShardFailed    ShardState = "failed"
	ShardRejected  ShardState = "rejected" // the requester may not back up this shard's node
	// ShardMissing is an outcome only, never in shard-{n}.json: the set was
	// sealed without a result of the shard (its deadline passed).
	ShardMissing ShardState = "missing"
)

// ShardResult is shard-{n}.json: written once (If-None-Match) by the
// replica that held the shard's claim, when its backup ended.
type ShardResult struct {
	Version  int        `json:"version"`
	Set      string     `json:"set"`
	Database string     `json:"database"`
	Shard    int        `json:"shard"`
	Replica  int        `json:"replica"`
	Node     string     `json:"node"` // the sidecar that took it
	State    ShardState `json:"state"`
	Error    string     `json:"error,omitempty"`
	// The backup in the shard's chains (see Layout.Engine).
	Backup     string            `json:"backup,omitempty"`
	Folder     string            `json:"folder,omitempty"`
	Kind       string            `json:"kind,omitempty"`
	KindReason string            `json:"kind_reason,omitempty"`
	Base       string            `json:"base,omitempty"`
	Chain      string            `json:"chain,omitempty"`
	Tables     map[string]uint64 `json:"tables,omitempty"`
	StartedAt  time.Time         `json:"started_at"`
	FinishedAt time.Time         `json:"finished_at"`
}

// OpenSets is open.json: the sets of a database not sealed yet, so a
// sidecar learns of new sets with one GET per poll, not a LIST.
type OpenSets struct {
	Version int         `json:"version"`
	Sets    []OpenEntry `json:"sets"`
	// LastFull is the creation time of the newest full set sealed
	// completed: a set of kind auto is full when it is older than the full
	// interval.
	LastFull *time.Time `json:"last_full,omitempty"`
	// LastID is the newest set name ever given: a new set is named after
	// it even when every set is sealed (and gone from Sets), so two sets
	// created in one millisecond, or by a sidecar whose clock is behind,
	// never take one name.
	LastID string `json:"last_id,omitempty"`
	// Restores are the restores of sets being run: every node reads each
	// one's record every poll and runs its own steps.
	Restores []OpenRestore `json:"restores,omitempty"`
}

// OpenRestore is one restore of a set being run, by the request Run, until
// Deadline: any sidecar drops it after that. Shard is the source shard of
// a restore of one shard alone (0 = every shard): its record is its own.
// A restore of another cluster's set (SourceCluster) is listed in the open.json of
// the cluster it restores onto, whose nodes run its steps.
type OpenRestore struct {
	Set           string    `json:"set"`
	Target        string    `json:"target"`
	TargetCluster string    `json:"target_cluster"`
	SourceCluster string    `json:"source_cluster,omitempty"` // another cluster's set (RestoreRecord.SourceCluster)
	SourceCopy    string    `json:"source_copy,omitempty"`    // the copy target it reads (RestoreRecord.SourceCopy)
	Shard         int       `json:"shard,omitempty"`
	Run           string    `json:"run"`
	Deadline      time.Time `json:"deadline"`
}

// OpenEntry is one open set. It is listed before its set.json is written,
// so a creator that dies in between leaves an entry (dropped after its
// deadline), never a set nobody learns of.
type OpenEntry struct {
	ID        string    `json:"id"`
	RequestID string    `json:"request_id"`
	CreatedAt time.Time `json:"created_at"`
	Deadline  time.Time `json:"deadline"`
}

// Find returns the entry of set id.
func (o OpenSets) Find(id string) (OpenEntry, bool) {
	for _, e := range o.Sets {
		if e.ID == id {
			return e, true
		}
	}
	return OpenEntry{}, false
}

// NoteFull notes s as the newest completed full set (LastFull) if it is a
// completed full set newer than the one noted, and reports whether it did.
func (o *OpenSets) NoteFull(s Set) bool {
	if s.State != SetCompleted || s.Kind != KindFull || (o.LastFull != nil && !o.LastFull.Before(s.CreatedAt)) {
		return false
	}
	at := s.CreatedAt
	o.LastFull = &at
	return true
}

// Decode reads one of the records, refusing a version it does not know.
func Decode(what string, data []byte, v any) error {
	var head struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	if head.Version != SetVersion {
		return fmt.Errorf("read %s: version %d, this sidecar knows %d", what, head.Version, SetVersion)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	return nil
}
