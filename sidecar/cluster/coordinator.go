package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// Member is this sidecar in the cluster: its stable name (it takes claims
// under it and is named in results) and its node's place.
type Member struct {
	Holder   coord.Holder
	Position setmodel.Position
}

// Options tune a Coordinator.
type Options struct {
	// ClaimTTL is how long a shard's claim lives without a heartbeat; the
	// holder renews it every third of it. Another replica takes a claim
	// over once it has expired. Default: one minute.
	ClaimTTL time.Duration
	// ShardTimeout is how long a set this sidecar creates waits for its
	// shards before it is sealed partial (cluster.shard_timeout).
	ShardTimeout time.Duration
	// FullEvery makes a set of kind auto full when the newest full set
	// completed this long ago (0: only the first set is full).
	FullEvery time.Duration
	// Replication reads this node's system.replicas, so that the fittest
	// replica of a shard claims it (replica_claim.go); nil: any replica.
	Replication Replication
	// ReplicaGrace is how long after a set is made a replica that was not
	// chosen waits before it claims its shard. Default: ClaimTTL.
	ReplicaGrace time.Duration
	// Restorer runs this node's steps of sets' restores; nil: none here.
	Restorer Restorer
	// FaultPoint, when set, is called at named points of a restore step
	// ("set-restore-started", "set-restore-sent"); only the fault tests
	// set it, to kill the process there.
	FaultPoint func(name string)
	// DatabasesAtOnce is how many databases Run steps at once (their
	// sets' shards and restores' steps); default 1.
	DatabasesAtOnce int
	// Recorded, when set, is told of each database whose set this node
	// wrote its shard's result of, or sealed: serve nudges its copy rounds
	// with it (SetCopy copies the records), so a set reaches the copy
	// targets soon after it ends. It must not block.
	Recorded func(database string)
}

// Job is one shard's backup of a set, for the Executor.
type Job struct {
	Set   setmodel.Set
	Shard int
	// RequestID names the backup in the shard's chains. It is the same for
	// the same set, shard and sidecar, so a sidecar restarted mid-backup
	// adopts its own backup; another replica that takes the shard over has
	// its own and never adopts a backup whose operation runs elsewhere.
	RequestID string
}

// Executor backs up this node's shard into the shard's own chains
// (Layout.Engine): it fills the result's backup fields. An error wrapping
// ErrRejected marks the shard rejected, any other failed.
type Executor interface {
	BackupShard(ctx context.Context, job Job) (setmodel.ShardResult, error)
}

// ErrRejected marks a shard's backup refused before it ran (the requester
// may not back up this node's database).
var ErrRejected = errors.New("rejected")

// Coordinator creates sets, works this node's shard of each open set, and
// seals sets, through the bucket alone. Every sidecar of the cluster runs
// one; any of them may create or seal a set. Safe for concurrent use.
type Coordinator struct {
	store   coord.ObjectStore
	layout  Layout
	cluster string
	self    Member
	exec    Executor
	opts    Options
	now     func() time.Time // the store's clock (coord.OnStoreClock): every node judges sets and claims on one
	logger  *slog.Logger
	// wake makes Run step at once, not at its next tick: a set this
	// sidecar made has its shard begun now, not a poll later.
	wake chan struct{}

	mu      sync.Mutex
	sets    map[string]openSet                      // open sets read, by database/id: set.json changes only when sealed
	results map[string]map[int]setmodel.ShardResult // results read: written once, never changed
	// reported are the replica reports this sidecar wrote (by key): one
	// per set it works.
	reported map[string]bool
	// attempts are the failed attempts of a shard read (by
	// database/set/shard/replica): written once, never changed.
	attempts map[string]setmodel.ShardResult
	// foreignTold are the sets and restores of another cluster this
	// sidecar has logged it takes no part in (foreign.go): once each.
	foreignTold map[string]bool
	// targets: one restore step at a time into a target database.
	targets targetTurns
}

type openSet struct {
	set  setmodel.Set
	etag string
}

// New makes a Coordinator for the cluster named cluster (system.clusters),
// stored under layout.
func New(store coord.ObjectStore, layout Layout, cluster string, self Member, exec Executor, opts Options, logger *slog.Logger) *Coordinator {
	if opts.ClaimTTL <= 0 {
		opts.ClaimTTL = time.Minute
	}
	if opts.ShardTimeout <= 0 {
		opts.ShardTimeout = 6 * time.Hour
	}
	if opts.ReplicaGrace <= 0 {
		opts.ReplicaGrace = opts.ClaimTTL
	}
	return &Coordinator{store: store, layout: layout, cluster: cluster, self: self, exec: exec, opts: opts,
		now: coord.OnStoreClock(store, time.Now), logger: logger, wake: make(chan struct{}, 1), sets: map[string]openSet{}, results: map[string]map[int]setmodel.ShardResult{},
		reported: map[string]bool{}, attempts: map[string]setmodel.ShardResult{}, foreignTold: map[string]bool{}}
}

// Wake makes Run step now (once, however often it is called meanwhile).
func (c *Coordinator) Wake() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Self is this sidecar in the cluster.
func (c *Coordinator) Self() Member { return c.self }

// SetClock replaces this host's clock, read on the store's
// (coord.OnStoreClock), for tests.
func (c *Coordinator) SetClock(now func() time.Time) { c.now = coord.OnStoreClock(c.store, now) }

// Request asks for a set.
type Request struct {
	Database    string
	Kind        string // full, incremental, or "" (auto)
	RequestID   string
	RequestedBy string
	Operator    bool // the sidecar's own request (Set.Operator)
	// ID names the set; "" gives it a new time-ordered name. A schedule
	// slot names its set and its request id, so every sidecar running the
	// schedule makes the same one: the first creates it, the others find
	// it (a named set of another request id is refused).
	ID string
	// Topology is the cluster as this sidecar reads system.clusters now.
	Topology setmodel.Topology
	// Shards to back up; none: every shard of Topology.
	Shards []int
}

// Create lists a new set as open and writes its set.json (If-None-Match),
// or returns the set a request or schedule slot already made.
func (c *Coordinator) Create(ctx context.Context, req Request) (setmodel.Set, error) {
	if err := model.ValidateIdentifier("database", req.Database); err != nil {
		return setmodel.Set{}, fmt.Errorf("create a set: %w", err) // it names a folder of the bucket too
	}
	shards := req.Shards
	if len(shards) == 0 {
		shards = req.Topology.ShardNums()
	}
	for _, n := range shards {
		if _, ok := req.Topology.Shard(n); !ok {
			return setmodel.Set{}, fmt.Errorf("create a set of %s: cluster %s has no shard %d (shards %v)",
				req.Database, c.cluster, n, req.Topology.ShardNums())
		}
	}
	now := c.now().UTC()
	set := setmodel.Set{Version: setmodel.SetVersion, ID: req.ID, Database: req.Database, Cluster: c.cluster, ClusterID: c.layout.ClusterID,
		RequestID: req.RequestID, RequestedBy: req.RequestedBy, Operator: req.Operator, FullAsked: req.Kind == setmodel.KindFull, CreatedBy: c.self.Holder.Name,
		Shards: slices.Sorted(slices.Values(shards)), Topology: req.Topology.Shards,
		CreatedAt: now, Deadline: now.Add(c.opts.ShardTimeout), State: setmodel.SetOpen}
	var kindErr error
	err := c.updateOpen(ctx, req.Database, func(open *setmodel.OpenSets) bool {
		set.Kind, set.KindReason, kindErr = decideKind(req.Kind, open.LastFull, now, c.opts.FullEvery)
		if kindErr != nil {
			return false
		}
		for _, e := range open.Sets {
			if req.RequestID != "" && e.RequestID == req.RequestID && (req.ID == "" || req.ID == e.ID) {
				// This request's set, listed by a run that stopped before
				// it wrote set.json or answered: the same set, not a second.
				set.ID, set.CreatedAt, set.Deadline = e.ID, e.CreatedAt, e.Deadline
				return false
			}
		}
		if req.ID == "" {
			set.ID = newSetID(now, open)
		} else if e, listed := open.Find(req.ID); listed {
			kindErr = fmt.Errorf("set %s is listed already, for request %s", e.ID, e.RequestID)
			return false
		}
		set.CreatedAt = now
		listOpenSet(open, set)
		return true
	})
	if err = errors.Join(kindErr, err); err != nil {
		return setmodel.Set{}, fmt.Errorf("create a set of %s: %w", req.Database, err)
	}
	set, err = c.writeNewSet(ctx, set)
	if err == nil {
		c.Wake()
	}
	return set, err
}

// writeNewSet writes set.json once. If it exists, the set there stands
// when it is the same request's (a retry, or a schedule slot's set made by
// another sidecar); another request's set under the name is refused.
func (c *Coordinator) writeNewSet(ctx context.Context, set setmodel.Set) (setmodel.Set, error) {
	data, err := json.Marshal(set)
	if err != nil {
		return setmodel.Set{}, fmt.Errorf("encode set %s: %w", set.ID, err)
	}
	_, err = c.store.Put(ctx, c.layout.SetKey(set.Database, set.ID), data, coord.PutCondition{IfNoneMatch: true})
	if errors.Is(err, coord.ErrPreconditionFailed) {
		existing, _, rerr := c.readSet(ctx, set.Database, set.ID)
		if rerr != nil {
			return setmodel.Set{}, rerr
		}
		if existing.RequestID != set.RequestID {
			return setmodel.Set{}, fmt.Errorf("create a set of %s: set %s exists already, for request %s (is this sidecar's clock behind?)",
				set.Database, set.ID, existing.RequestID)
		}
		c.logger.Info("the set exists already", "database", set.Database, "set", set.ID, "created_by", existing.CreatedBy)
		return existing, nil
	}
	if err != nil {
		return setmodel.Set{}, fmt.Errorf("write set %s of %s: %w", set.ID, set.Database, err)
	}
	c.logger.Info("set created", "database", set.Database, "set", set.ID, "kind", set.Kind, "shards", set.Shards,
		"requested_by", set.RequestedBy)
	return set, nil
}

// decideKind is the kind of every shard's backup in a new set.
func decideKind(kind string, lastFull *time.Time, now time.Time, fullEvery time.Duration) (string, string, error) {
	switch kind {
	case setmodel.KindFull:
		return setmodel.KindFull, "a full set was asked for", nil
	case setmodel.KindIncremental:
		return setmodel.KindIncremental, "an incremental set was asked for", nil
	case "", "auto":
	default:
		return "", "", fmt.Errorf("unknown kind %q (full, incremental or auto)", kind)
	}
	if lastFull == nil {
		return setmodel.KindFull, "no full set has completed", nil
	}
	if age := now.Sub(*lastFull); fullEvery > 0 && age >= fullEvery {
		return setmodel.KindFull, fmt.Sprintf("the newest full set is %s old (full every %s)", age.Round(time.Second), fullEvery), nil
	}
	return setmodel.KindIncremental, "the newest full set is recent", nil
}

// newSetID names a set after now, moved on a millisecond past every open
// set's name, so names stay unique and ordered as backups' are.
func newSetID(now time.Time, open *setmodel.OpenSets) string {
	for {
		id := now.UTC().Format("20060102T150405") + fmt.Sprintf("%03dZ", now.Nanosecond()/int(time.Millisecond))
		newest := open.LastID
		for _, e := range open.Sets {
			newest = max(newest, e.ID)
		}
		if newest < id {
			return id
		}
		now = now.Add(time.Millisecond)
	}
}

// listOpenSet lists set in open: an entry until its deadline, and its
// name as the newest given if it is.
func listOpenSet(open *setmodel.OpenSets, set setmodel.Set) {
	open.Sets = append(open.Sets, setmodel.OpenEntry{ID: set.ID, RequestID: set.RequestID, CreatedAt: set.CreatedAt, Deadline: set.Deadline})
	open.LastID = max(open.LastID, set.ID)
}

// updateOpen changes open.json with a conditional write, reading it again
// and redoing the change when another sidecar wrote it in between. change
// reports whether it changed anything; a missing open.json rebuilt from
// the sets (readOpenToWrite) is written whatever it reports.
func (c *Coordinator) updateOpen(ctx context.Context, database string, change func(*setmodel.OpenSets) bool) error {
	key := c.layout.OpenSetsKey(database)
	for attempt := 0; attempt < 20; attempt++ {
		open, etag, rebuilt, err := readOpenToWrite(ctx, c, database)
		if err != nil {
			return err
		}
		if !change(&open) && !rebuilt {
			return nil
		}
		data, err := json.Marshal(open)
		if err != nil {
			return fmt.Errorf("encode open sets of %s: %w", database, err)
		}
		cond := coord.PutCondition{IfMatch: etag, IfNoneMatch: etag == ""}
		_, err = c.store.Put(ctx, key, data, cond)
		if !coord.ConditionLost(err) {
			if err != nil {
				return fmt.Errorf("write open sets of %s: %w", database, err)
			}
			return nil
		}
		if err := sleepCtx(ctx, time.Duration(attempt+1)*10*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("write open sets of %s: it kept changing under this sidecar", database)
}

// readOpen reads open.json; a missing one is empty, with no ETag.
func (c *Coordinator) readOpen(ctx context.Context, database string) (setmodel.OpenSets, string, error) {
	data, etag, err := c.store.Get(ctx, c.layout.OpenSetsKey(database))
	if errors.Is(err, coord.ErrNotFound) {
		return setmodel.OpenSets{Version: setmodel.SetVersion}, "", nil
	}
	if err != nil {
		return setmodel.OpenSets{}, "", fmt.Errorf("read open sets of %s: %w", database, err)
	}
	var open setmodel.OpenSets
	if err := setmodel.Decode("open sets of "+database, data, &open); err != nil {
		return setmodel.OpenSets{}, "", err
	}
	return open, etag, nil
}

// readSet reads a set's set.json.
func (c *Coordinator) readSet(ctx context.Context, database, id string) (setmodel.Set, string, error) {
	data, etag, err := c.store.Get(ctx, c.layout.SetKey(database, id))
	if err != nil {
		return setmodel.Set{}, "", fmt.Errorf("read set %s of %s: %w", id, database, err)
	}
	set, err := decodeSet(database, id, data)
	return set, etag, err
}

// decodeSet decodes set id of database's set.json, refusing one that
// names another set or database: keys (its records', a restore's) are
// built from what it names.
func decodeSet(database, id string, data []byte) (setmodel.Set, error) {
	var set setmodel.Set
	if err := setmodel.Decode("set "+id, data, &set); err != nil {
		return setmodel.Set{}, err
	}
	if set.ID != id || set.Database != database {
		return setmodel.Set{}, fmt.Errorf("read set %s of %s: its set.json names set %q of %q", id, database, set.ID, set.Database)
	}
	return set, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
