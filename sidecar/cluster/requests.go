package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// Requests are the runner's side of sets (control.ClusterSets): a backup
// request on any node makes a set, and its answer waits for the seal. The
// node's own shard is worked by Coordinator.Run, as every other node's is.
type Requests struct {
	Coord *Coordinator
	// Topology reads system.clusters now: a set backs up the shards the
	// cluster has when it is made.
	Topology func(ctx context.Context) (setmodel.Topology, error)
	// Poll is how often the set is read while it is open (default 200 ms:
	// a few small GETs, for the one request that waits).
	Poll time.Duration
	// Plan reads a source shard's backup's restore plan (a set's restore).
	Plan ShardPlanner
	// Chains read and delete the shards' backups, and Policy says which
	// sets to keep (a cleanup of sets).
	Chains ShardChains
	Policy setmodel.SetPolicy
	// RequestRetention is how long a request's row lives
	// (sidecar.request_retention_days): its set-requests/ record, by which
	// its sidecar answers it after a restart, is deleted by a cleanup of
	// sets once it is older, as no row can ask for it then. 0 keeps them.
	RequestRetention time.Duration
	// AtCopy says the sets are a copy target's (SetCopy wrote them): a
	// set's folder there holds its shards' results before its set.json,
	// so a folder without one is a set being copied, which a cleanup
	// keeps as an open set, with the backups it rests on
	// (setsBeingCopied), not what a stopped cleanup left.
	AtCopy bool
	// Copies opens a [[copy]] target as a source of a set's restore: its
	// store, and its prefix (the cluster's layout under it). nil: none.
	Copies func(ctx context.Context, name string) (coord.ObjectStore, string, error)
	// ReadingThis, at a copy target (AtCopy), are the restores the
	// primary runs reading this target (Requests.RestoresReading): its
	// cleanup keeps their sets. nil: none looked for.
	ReadingThis func(ctx context.Context, database string) ([]setmodel.OpenRestore, error)
}

var _ control.ClusterSets = Requests{}

// BackupSet makes the request's set, or finds the one named (a run before
// a restart made it), and waits until it is sealed.
func (r Requests) BackupSet(ctx context.Context, req control.SetRequest, progress func(set, message string)) (control.SetOutcome, error) {
	set, err := r.find(ctx, req)
	if err != nil {
		return control.SetOutcome{ID: req.ID}, err
	}
	progress(set.ID, fmt.Sprintf("set %s: %s backup of shards %v (%s)", set.ID, set.Kind, set.Shards, set.KindReason))
	return r.awaitSet(ctx, set, progress)
}

// find is the request's set: the one named, or the one recorded for the
// request (a run before a restart made it), else a new one, recorded.
func (r Requests) find(ctx context.Context, req control.SetRequest) (setmodel.Set, error) {
	if req.ID == "" {
		id, err := r.recorded(ctx, req)
		if err != nil {
			return setmodel.Set{}, err
		}
		req.ID = id
	}
	if req.ID != "" {
		set, _, err := r.Coord.readSet(ctx, req.Database, req.ID)
		if err == nil {
			return set, nil
		}
		if !errors.Is(err, coord.ErrNotFound) {
			return setmodel.Set{}, fmt.Errorf("read set %s: %w", req.ID, err)
		}
	}
	topo, err := r.Topology(ctx)
	if err != nil {
		return setmodel.Set{}, fmt.Errorf("read the cluster's shards: %w", err)
	}
	kind := req.Kind
	if kind == "auto" {
		kind = ""
	}
	set, err := r.Coord.Create(ctx, Request{Database: req.Database, Kind: kind, RequestID: req.RequestID,
		RequestedBy: req.RequestedBy, Operator: req.Operator, Topology: topo})
	if err != nil {
		return setmodel.Set{}, err
	}
	r.record(ctx, req, set.ID)
	return set, nil
}

// recorded is the set recorded for the request, "" if none.
func (r Requests) recorded(ctx context.Context, req control.SetRequest) (string, error) {
	data, _, err := r.Coord.store.Get(ctx, r.Coord.layout.SetOfRequestKey(req.Database, req.RequestID))
	if errors.Is(err, coord.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the set of request %s: %w", req.RequestID, err)
	}
	var rec setOfRequest
	if err := setmodel.Decode("the set of request "+req.RequestID, data, &rec); err != nil {
		return "", err
	}
	return rec.Set, nil
}

// record writes which set the request made (Coordinator.recordRequest).
// A failed write is not the request's failure: the set goes on, and its
// sealer writes the record before it leaves open.json.
func (r Requests) record(ctx context.Context, req control.SetRequest, set string) {
	if err := r.Coord.recordRequest(ctx, req.Database, req.RequestID, set); err != nil {
		r.Coord.logger.Warn("record the set of a request; its sealer records it", "request", req.RequestID, "set", set, "err", err)
	}
}

// Outcome is a sealed set as the runner answers it: each shard's state,
// and why a shard is missing.
func Outcome(set setmodel.Set, results map[int]setmodel.ShardResult) control.SetOutcome {
	out := control.SetOutcome{ID: set.ID, State: set.State}
	shards := append([]int(nil), set.Shards...)
	sort.Ints(shards)
	for _, n := range shards {
		res, ok := results[n]
		if !ok {
			out.Shards = append(out.Shards, control.ShardOutcome{Shard: n, State: setmodel.ShardMissing, Reason: set.Reasons[coord.ShardFolder(n)]})
			continue
		}
		out.Shards = append(out.Shards, control.ShardOutcome{Shard: n, State: res.State, Node: res.Node,
			Backup: res.Backup, Kind: res.Kind, Reason: res.Error})
	}
	return out
}

// Checked is an Executor that first asks whether the set's requester may
// back up the database on this node: grants are each node's own, so a
// requester who may back up two nodes of three gets the third shard
// rejected, not backed up with the sidecar's rights.
type Checked struct {
	Executor
	// Allowed returns nil when who may back up database on this node, an
	// error wrapping ErrRejected when who may not, and any other error
	// when the grants could not be read (the server restarting): that is
	// a failure, which another replica of the shard tries, not a refusal.
	Allowed func(ctx context.Context, who setmodel.Requester, database string) error
}

// BackupShard backs the shard up if the requester may.
func (c Checked) BackupShard(ctx context.Context, job Job) (setmodel.ShardResult, error) {
	who := setmodel.Requester{Login: job.Set.RequestedBy, Operator: job.Set.Operator, NewChain: job.Set.FullAsked}
	if err := c.Allowed(ctx, who, job.Set.Database); err != nil {
		return setmodel.ShardResult{}, err
	}
	return c.Executor.BackupShard(ctx, job)
}
