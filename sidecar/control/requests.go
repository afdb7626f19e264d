package control

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar/model"
)

// Action is what a request asks for, as the requests table's action
// column spells it.
type Action string

// Actions a request may ask for.
const (
	ActionBackup  Action = "backup"
	ActionRestore Action = "restore"
	ActionVerify  Action = "verify"
	ActionCheck   Action = "check"
	ActionCleanup Action = "cleanup"
	ActionCancel  Action = "cancel"
)

// State is where a request is, as request_log and request_status say it:
// queued → running → succeeded | failed, or rejected (refused before it
// ran), or cancelled.
type State string

// States of a request. StatePending is request_status's for a row with
// no request_log entry yet (never written to request_log); the others are
// request_log's.
const (
	StatePending   State = "pending"
	StateQueued    State = "queued"
	StateRunning   State = "running"
	StateSucceeded State = "succeeded"
	StateFailed    State = "failed"
	StateRejected  State = "rejected"
	StateCancelled State = "cancelled"
)

// Terminal reports whether a request in state is answered for good.
func Terminal(state State) bool {
	switch state {
	case StateSucceeded, StateFailed, StateRejected, StateCancelled:
		return true
	}
	return false
}

// Request is one row of the requests table.
type Request struct {
	ID          string
	Action      Action
	Database    string
	Kind        string
	Backup      string
	AsOf        *time.Time
	Target      string
	DryRun      bool
	RequestedBy string
	// Via names the HTTP token a request was queued with ("http:…"); "" for
	// SQL requests. Only the sidecar's own user may set it.
	Via         string
	RequestedAt time.Time
	// Tables: a backup's only tables, or a restore's tables ("t" or
	// "t AS new_name"). ExcludeTables: a backup's tables to leave out.
	// Partitions: a one-table restore's partitions. Mode: a restore's
	// data (""), schema or replace.
	Tables        []string
	ExcludeTables []string
	Partitions    []string
	Mode          string
	// Consumers is a restore's choice for the tables that consume or
	// write outside its target: "" refuses (the default), "skip" or
	// "include" (sidecar.ParseConsumers). DryRun on a restore answers
	// with the plan and runs nothing.
	Consumers string
	// Shard is, on a cluster node, the one shard of a set a restore
	// restores (0 = every shard).
	Shard int
	// Source is the [[copy]] target a restore or verify reads its backup
	// from, or a check or cleanup acts on ("" = the primary; for a restore
	// or verify, a copy when the primary cannot serve the backup).
	Source string
	// QueryID is the id of the INSERT that made the row (MATERIALIZED
	// queryID()): the sidecar confirms the row from it in the query log.
	QueryID string
	// Proof is set by the sidecar on the rows it inserts itself (see
	// Sign); no ClickHouse user can make a valid one.
	Proof string
}

// Requester is who asked, for logs and notifications: the HTTP token's
// name for requests queued over HTTP, else the ClickHouse login. Rights
// are always those of RequestedBy.
func (r Request) Requester() string {
	if r.Via != "" {
		return r.Via + " (as " + r.RequestedBy + ")"
	}
	return r.RequestedBy
}

// LogEntry is one row of request_log: a state change of a request.
type LogEntry struct {
	RequestID   string
	Action      Action
	Database    string
	State       State
	Backup      string
	Message     string
	NumFiles    uint64
	TotalSize   uint64
	BytesRead   uint64
	At          time.Time
	OperationID string
	Sidecar     string
}

// PendingRequest is a request without a terminal state, with its newest
// log entry if a sidecar already took it.
type PendingRequest struct {
	Request
	Latest *LogEntry
	// Logins is how many logins inserted rows with this id. The request is
	// the first row inserted (the server's insert order, which no INSERT
	// sets); more than one login means someone reused the id, and their
	// rows are ignored.
	Logins int
	// Mark is the row's place in the insert order.
	Mark ReadMark
}

// RequestStatus is a row of the request_status view.
type RequestStatus struct {
	ID          string    `json:"id"`
	Action      Action    `json:"action"`
	Database    string    `json:"database"`
	Kind        string    `json:"kind"`
	State       State     `json:"state"`
	Backup      string    `json:"backup"`
	Message     string    `json:"message"`
	NumFiles    uint64    `json:"num_files"`
	TotalSize   uint64    `json:"total_size"`
	BytesRead   uint64    `json:"bytes_read"`
	RequestedBy string    `json:"requested_by"`
	Via         string    `json:"via,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// CatalogRow is one row of the backups table, the mirror of S3 metadata.
type CatalogRow struct {
	Database         string              `json:"database"`
	Name             string              `json:"name"`
	Kind             string              `json:"kind"`
	Chain            string              `json:"chain"`
	Base             string              `json:"base"`
	Location         string              `json:"location"`
	Status           model.CatalogStatus `json:"status"`
	BackupID         string              `json:"clickhouse_backup_id"`
	StartedAt        *time.Time          `json:"started_at"`
	FinishedAt       *time.Time          `json:"finished_at"`
	NumFiles         uint64              `json:"num_files"`
	StoredBytes      uint64              `json:"stored_bytes"` // what the backup added to the bucket
	TotalSize        uint64              `json:"total_size"`   // logical: what a restore brings back, bases included
	UncompressedSize uint64              `json:"uncompressed_size"`
	CompressedSize   uint64              `json:"compressed_size"`
	Error            string              `json:"error"`
	KindReason       string              `json:"kind_reason"` // why a full or an incremental
	FullForced       bool                `json:"full_forced"` // a full taken instead of the chain's next link
	TableSet         string              `json:"table_set"`
	Tables           map[string]uint64   `json:"tables"`      // rows per table at backup time
	TableBytes       map[string]uint64   `json:"table_bytes"` // size of each table's files in the backup
	CheckedAt        *time.Time          `json:"checked_at"`
	CheckVerdict     model.CheckVerdict  `json:"check_status"` // "" if never checked
	CheckProblem     string              `json:"check_problem"`
	VerifiedAt       *time.Time          `json:"verified_at"`
	VerifyVerdict    model.VerifyVerdict `json:"verify_status"` // "" if never verified
	VerifyRestoreSec float64             `json:"verify_restore_seconds"`
	// Copies are the [[copy]] targets holding a completed copy of it.
	Copies []string `json:"copies"`
}

// ErrRejected marks a request refused before anything ran.
var ErrRejected = errors.New("rejected")

func reject(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRejected, fmt.Sprintf(format, args...))
}

// rejectionReason is a rejection's message for the requester, without the
// "rejected: " that reject puts in front.
func rejectionReason(err error) string {
	return strings.TrimPrefix(err.Error(), ErrRejected.Error()+": ")
}

// Bounds of one read of pending requests. A read costs about the same for
// 200 rows of a requester as for 2,000 (it is the rows it passes over that
// cost), so a flood is answered a slice of 2,000 rows per read; another
// requester's rows are in every read beside it.
const (
	PendingPerRequester = 2000
	PendingPerRead      = 10000
)

// CanonicalID reports whether id is a request id in the one form ClickHouse
// reads as a UUID: 36 characters, 8-4-4-4-12 hex digits. Go's parser also
// takes "{…}", "urn:uuid:…" and no hyphens, which ClickHouse refuses.
func CanonicalID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i, c := range id {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !isHexDigit(c):
			return false
		}
	}
	return true
}

func isHexDigit(c rune) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
