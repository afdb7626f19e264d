package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// Replication is this node's server as the choice of the replica that
// backs a shard up, and that replica's SYNC REPLICA, see it.
type Replication interface {
	// Replicas reads the system.replicas rows of database's tables.
	Replicas(ctx context.Context, database string) ([]setmodel.ReplicaRow, error)
	// Tables reads database's tables with their engines (system.tables).
	Tables(ctx context.Context, database string) ([]setmodel.TableRow, error)
	// Sync runs one SYSTEM SYNC REPLICA, waiting at most its
	// receive_timeout (the client waits longer: the server sends nothing
	// meanwhile).
	Sync(ctx context.Context, s setmodel.Statement) error
}

// SyncReplicas makes this replica current before its backup: SYSTEM SYNC
// REPLICA … LIGHTWEIGHT of each Replicated* table of database
// (SyncReplica), each bounded by timeout. A database without replicated
// tables sends nothing.
func SyncReplicas(ctx context.Context, r Replication, database string, timeout time.Duration) error {
	tables, err := r.Tables(ctx, database)
	if err != nil {
		return fmt.Errorf("read the tables of %s: %w", database, err)
	}
	for _, s := range setmodel.SyncReplica(database, tables, timeout) {
		if err := r.Sync(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s.SQL, err)
		}
	}
	return nil
}

// replicaGate decides whether this replica claims its shard of a set now:
// the Coordinator's part that chooses a replica (ChooseReplica) from what
// each replica of the shard reported of its system.replicas.
type replicaGate struct{ c *Coordinator }

// mayClaim reports whether this replica should claim its shard of set now.
// Without Replication, or for a shard of one replica, any replica claims.
// Otherwise each replica writes its rows once per set, and the replica
// ChooseReplica picks claims once every replica has reported (or a
// quarter of the grace has passed, after which one not heard from is
// passed over); any other replica that is fit claims only once the grace
// has passed since the set was made, so a shard whose chosen replica is
// down is still backed up. A replica ChooseReplica refuses (a replicated
// table missing, its session with Keeper expired) never claims: a replica
// not known to be current is not backed up as the shard. The claim
// decides, so one replica backs the shard up whichever way the choice
// fell. A replica whose backup of the shard failed (failed) is judged with
// the others — the tables the shard has are every replica's — but is no
// candidate: the choice is the fittest of the rest.
func (g replicaGate) mayClaim(ctx context.Context, set setmodel.Set, shard int, failed map[int]setmodel.ShardResult) (bool, error) {
	c := g.c
	s, ok := setShard(set, shard)
	if c.opts.Replication == nil || !ok || len(s.Replicas) < 2 {
		return true, nil
	}
	if err := g.report(ctx, set, shard); err != nil {
		return false, err
	}
	var health []setmodel.ReplicaHealth
	for _, r := range s.Replicas {
		h, found, err := g.read(ctx, set, shard, r.Num)
		if err != nil {
			return false, err
		}
		if found {
			health = append(health, h)
		}
	}
	choice := passOver(setmodel.ChooseReplica(s, set.Database, health), failed)
	me, waited := c.self.Position.Replica, c.now().Sub(set.CreatedAt)
	switch {
	case !fit(choice, me):
		return false, nil
	case choice.Replica == me && (len(health) == len(s.Replicas) || waited >= c.opts.ReplicaGrace/4):
		return true, nil
	case waited >= c.opts.ReplicaGrace:
		c.logger.Info("claiming this shard though another replica was chosen: the grace has passed", "set", set.ID,
			"shard", shard, "chosen", choice.Replica, "candidates", choice.Candidates)
		return true, nil
	}
	return false, nil
}

// refusals says why no replica of shard may claim it, from the reports
// the replicas wrote ("" when one may, or nothing was reported): for a
// set's reason at its deadline, so a shard every replica was refused for
// does not read as a shard nobody took.
func (g replicaGate) refusals(ctx context.Context, set setmodel.Set, shard int, failed map[int]setmodel.ShardResult) string {
	s, ok := setShard(set, shard)
	if !ok || len(s.Replicas) < 2 {
		return ""
	}
	var health []setmodel.ReplicaHealth
	for _, r := range s.Replicas {
		if h, found, err := g.read(ctx, set, shard, r.Num); err == nil && found {
			health = append(health, h)
		}
	}
	if len(health) == 0 {
		return ""
	}
	choice := passOver(setmodel.ChooseReplica(s, set.Database, health), failed)
	if choice.Replica != 0 {
		return ""
	}
	var parts []string
	for _, cand := range choice.Candidates {
		parts = append(parts, fmt.Sprintf("replica %d: %s", cand.Replica, cand.Refused))
	}
	return strings.Join(parts, "; ")
}

// passOver takes the replicas that failed the shard out of the choice: the
// fittest of the others is chosen, when one is fit.
func passOver(choice setmodel.ReplicaChoice, failed map[int]setmodel.ShardResult) setmodel.ReplicaChoice {
	if len(failed) == 0 {
		return choice
	}
	choice.Candidates = slices.DeleteFunc(slices.Clone(choice.Candidates), func(c setmodel.Candidate) bool {
		_, tried := failed[c.Replica]
		return tried
	})
	choice.Replica = 0
	if len(choice.Candidates) > 0 && choice.Candidates[0].Refused == "" {
		choice.Replica = choice.Candidates[0].Replica
	}
	return choice
}

// fit reports whether replica is a candidate of the choice that
// ChooseReplica did not refuse.
func fit(choice setmodel.ReplicaChoice, replica int) bool {
	return slices.ContainsFunc(choice.Candidates, func(c setmodel.Candidate) bool { return c.Replica == replica && c.Refused == "" })
}

// report writes this replica's system.replicas rows of the set's
// database, once per set (a failed read is written as such: the replica
// is then not chosen).
func (g replicaGate) report(ctx context.Context, set setmodel.Set, shard int) error {
	c := g.c
	key := c.layout.ReplicaHealthKey(set.Database, set.ID, shard, c.self.Position.Replica)
	c.mu.Lock()
	done := c.reported[key]
	c.mu.Unlock()
	if done {
		return nil
	}
	h := setmodel.ReplicaHealth{Replica: c.self.Position.Replica}
	rows, err := c.opts.Replication.Replicas(ctx, set.Database)
	if err != nil {
		h.Err = err.Error()
	}
	h.Rows = rows
	data, err := json.Marshal(replicaReport{Version: setmodel.SetVersion, ReplicaHealth: h})
	if err != nil {
		return fmt.Errorf("encode this replica's rows: %w", err)
	}
	if _, err := c.store.Put(ctx, key, data, coord.PutCondition{}); err != nil {
		return fmt.Errorf("write this replica's rows for set %s: %w", set.ID, err)
	}
	c.mu.Lock()
	c.reported[key] = true
	c.mu.Unlock()
	return nil
}

// replicaReport is shard-{n}.replica-{r}.json: what replica r reported.
type replicaReport struct {
	Version int `json:"version"`
	setmodel.ReplicaHealth
}

// read reads what replica r of shard reported for set.
func (g replicaGate) read(ctx context.Context, set setmodel.Set, shard, replica int) (setmodel.ReplicaHealth, bool, error) {
	data, _, err := g.c.store.Get(ctx, g.c.layout.ReplicaHealthKey(set.Database, set.ID, shard, replica))
	if errors.Is(err, coord.ErrNotFound) {
		return setmodel.ReplicaHealth{}, false, nil
	}
	if err != nil {
		return setmodel.ReplicaHealth{}, false, fmt.Errorf("read replica %d's rows for set %s: %w", replica, set.ID, err)
	}
	var rep replicaReport
	if err := setmodel.Decode(fmt.Sprintf("replica %d's rows", replica), data, &rep); err != nil {
		return setmodel.ReplicaHealth{Replica: replica, Err: err.Error()}, true, nil
	}
	rep.Replica = replica // the key says whose it is
	return rep.ReplicaHealth, true, nil
}

// setShard is shard n as the set's creator saw it.
func setShard(set setmodel.Set, n int) (setmodel.Shard, bool) {
	for _, s := range set.Topology {
		if s.Num == n {
			return s, true
		}
	}
	return setmodel.Shard{}, false
}
