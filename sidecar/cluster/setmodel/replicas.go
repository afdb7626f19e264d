package setmodel

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// ReplicaRow is one row of system.replicas: one Replicated* table as the
// server that answers sees it, with the columns the choice of a replica
// reads (names as in ClickHouse's docs, operations/system-tables/replicas).
type ReplicaRow struct {
	Database         string `json:"database"`
	Table            string `json:"table"`
	Engine           string `json:"engine"`
	IsReadonly       bool   `json:"is_readonly"`
	IsSessionExpired bool   `json:"is_session_expired"`
	ReplicaName      string `json:"replica_name"`
	QueueSize        uint32 `json:"queue_size"`
	InsertsInQueue   uint32 `json:"inserts_in_queue"`
	LogMaxIndex      uint64 `json:"log_max_index"`
	LogPointer       uint64 `json:"log_pointer"`
	AbsoluteDelay    uint64 `json:"absolute_delay"`
	TotalReplicas    uint8  `json:"total_replicas"`
	ActiveReplicas   uint8  `json:"active_replicas"`
}

// ReplicaHealth is what one replica of a shard said of its replicated
// tables: its system.replicas rows, or why they could not be read.
type ReplicaHealth struct {
	Replica int          `json:"replica"`
	Rows    []ReplicaRow `json:"rows"`
	Err     string       `json:"error,omitempty"` // the rows could not be read: the replica is not chosen
}

// Candidate is one replica of a shard as the choice judged it.
type Candidate struct {
	Replica int
	Delay   uint64 // seconds: the largest absolute_delay of its tables
	Pending uint64 // queue entries and log entries not yet copied, over its tables
	Refused string // why it may not back the shard up; "" = it may
}

// ReplicaChoice is which replica of a shard backs it up, and why each
// other replica was passed over or refused.
type ReplicaChoice struct {
	Shard      int
	Replica    int         // 0 = none may
	Candidates []Candidate // the fittest first, refused ones last
}

// ChooseReplica picks the replica of shard s that should back up database:
// one whose replicated tables are all writable and in session with Keeper,
// that has every replicated table some replica of the shard has, and lags
// least (the largest absolute_delay of its tables, then the fewest pending
// entries, then the lowest replica number, so every sidecar that reads the
// same rows picks the same one). A replica read-only or with an expired
// session cannot fetch the parts it lacks, so its backup could miss rows
// the shard has; a replica whose rows could not be read is not known to be
// fit. A shard without replicated tables is backed up by any replica.
func ChooseReplica(s Shard, database string, health []ReplicaHealth) ReplicaChoice {
	byNum := map[int]ReplicaHealth{}
	for _, h := range health {
		byNum[h.Replica] = h
	}
	union := tablesOfShard(database, health)
	choice := ReplicaChoice{Shard: s.Num}
	for _, r := range s.Replicas {
		h, ok := byNum[r.Num]
		c := Candidate{Replica: r.Num}
		switch {
		case !ok:
			c.Refused = "its system.replicas was not read"
		case h.Err != "":
			c.Refused = "its system.replicas could not be read: " + h.Err
		default:
			c = judge(r.Num, database, h.Rows, union)
		}
		choice.Candidates = append(choice.Candidates, c)
	}
	sort.SliceStable(choice.Candidates, func(i, j int) bool { return fitter(choice.Candidates[i], choice.Candidates[j]) })
	if len(choice.Candidates) > 0 && choice.Candidates[0].Refused == "" {
		choice.Replica = choice.Candidates[0].Replica
	}
	return choice
}

// judge weighs one replica's rows of database against the tables the
// shard's replicas have between them.
func judge(replica int, database string, rows []ReplicaRow, union []string) Candidate {
	c := Candidate{Replica: replica}
	have := map[string]bool{}
	var refusals []string
	for _, r := range rows {
		if r.Database != database {
			continue
		}
		have[r.Table] = true
		switch {
		case r.IsSessionExpired:
			refusals = append(refusals, fmt.Sprintf("%s: its session with Keeper has expired (is_session_expired)", r.Table))
		case r.IsReadonly:
			refusals = append(refusals, fmt.Sprintf("%s: read-only (is_readonly)", r.Table))
		}
		c.Delay = max(c.Delay, r.AbsoluteDelay)
		c.Pending = saturatingAdd(c.Pending, uint64(r.QueueSize))
		// log_pointer is the next log entry to copy, so entries up to
		// log_max_index from it on are still in Keeper's log only. (Both
		// are 0 without a Keeper session, but then is_readonly refuses.)
		if r.LogMaxIndex >= r.LogPointer {
			c.Pending = saturatingAdd(c.Pending, r.LogMaxIndex-r.LogPointer+1)
		}
	}
	for _, t := range union {
		if !have[t] {
			refusals = append(refusals, fmt.Sprintf("%s: not on this replica (another replica of the shard has it)", t))
		}
	}
	c.Refused = strings.Join(refusals, "; ")
	return c
}

// fitter orders candidates: allowed before refused, then less delay, then
// fewer pending entries, then the lower replica number.
func fitter(a, b Candidate) bool {
	if (a.Refused == "") != (b.Refused == "") {
		return a.Refused == ""
	}
	if a.Delay != b.Delay {
		return a.Delay < b.Delay
	}
	if a.Pending != b.Pending {
		return a.Pending < b.Pending
	}
	return a.Replica < b.Replica
}

// tablesOfShard are the replicated tables of database that any replica
// whose rows were read has, in order.
func tablesOfShard(database string, health []ReplicaHealth) []string {
	var out []string
	for _, h := range health {
		for _, r := range h.Rows {
			if r.Database == database && !slices.Contains(out, r.Table) {
				out = append(out, r.Table)
			}
		}
	}
	slices.Sort(out)
	return out
}

func saturatingAdd(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

// TableRow is one row of system.tables: the engine decides whether a table
// is replicated.
type TableRow struct {
	Database string `json:"database"`
	Name     string `json:"name"`
	Engine   string `json:"engine"`
}

// Statement is one query and the settings it is sent with. The settings go
// with the query on the native protocol, not in its text: ASTSystemQuery
// has no SETTINGS clause, and SYNC REPLICA reads its timeout from the
// query's own settings (receive_timeout, InterpreterSystemQuery).
type Statement struct {
	SQL      string
	Settings []Setting
}

// Setting is one query setting.
type Setting struct {
	Name, Value string
}

// SyncReplica plans the statements that make the chosen replica current
// before its backup: `SYSTEM SYNC REPLICA db.t LIGHTWEIGHT` for each
// Replicated* table of database, in name order. LIGHTWEIGHT waits only for
// the fetches and drop-ranges already in the queue (GET_PART, ATTACH_PART,
// DROP_RANGE, REPLACE_RANGE, DROP_PART), not for merges (no row to add) nor
// mutations (backed up unapplied, as the shard stands); plain SYNC REPLICA
// also waits for those, which can take long, and STRICT for an empty
// queue, which on a busy table may never come. Each waits at most timeout: ClickHouse bounds it by
// receive_timeout (whole seconds) and fails with TIMEOUT_EXCEEDED after.
// Other engines (MergeTree, views, Distributed, …) have no replication
// queue: SYNC REPLICA refuses them (BAD_ARGUMENTS, "is not replicated").
func SyncReplica(database string, tables []TableRow, timeout time.Duration) []Statement {
	var names []string
	for _, t := range tables {
		if t.Database == database && isReplicated(t.Engine) {
			names = append(names, t.Name)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	secs := int64(math.Ceil(timeout.Seconds()))
	if secs < 1 {
		secs = 1 // 0 would not mean "no wait" but an immediate timeout
	}
	out := make([]Statement, 0, len(names))
	for _, n := range names {
		out = append(out, Statement{
			SQL:      "SYSTEM SYNC REPLICA " + quoteIdent(database) + "." + quoteIdent(n) + " LIGHTWEIGHT",
			Settings: []Setting{{Name: "receive_timeout", Value: fmt.Sprint(secs)}},
		})
	}
	return out
}

// isReplicated reports whether a table engine keeps its rows in step with
// the shard's other replicas through Keeper: the Replicated* engines
// (ReplicatedMergeTree and its family; an MV's inner table too).
func isReplicated(engine string) bool { return strings.HasPrefix(engine, "Replicated") }

// quoteIdent back-quotes an identifier exactly as package clickhouse does
// (QuoteIdent); this package cannot import it, since it imports this one.
func quoteIdent(name string) string {
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`").Replace(name) + "`"
}
