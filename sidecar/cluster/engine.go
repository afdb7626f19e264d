package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/model"
)

// Engine is the Executor that backs this node's shard up with the engine,
// exactly as a single server's backup: ClickHouse's own BACKUP of the
// local database, its chains, lease and catalog in the shard's folder.
// Its Service MUST be made with Layout.Engine(this node's shard): then
// every base it picks is a link of the same shard.
type Engine struct {
	Service *sidecar.Service
	// Replication, when set, makes the replica current before its backup
	// (SyncReplicas), each table waiting at most SyncTimeout (default 5
	// minutes); a replica that cannot be made current fails its shard
	// rather than back up rows the shard may lack.
	Replication Replication
	SyncTimeout time.Duration
}

var _ Executor = Engine{}

// BackupShard takes the shard's backup of the kind the set decided. In an
// incremental set a shard with no completed full of its own (new to the
// cluster, or its chains gone), or whose chain is broken, takes a full,
// and the result says why.
func (e Engine) BackupShard(ctx context.Context, job Job) (setmodel.ShardResult, error) {
	if e.Replication != nil {
		timeout := e.SyncTimeout
		if timeout <= 0 {
			timeout = 5 * time.Minute
		}
		if err := SyncReplicas(ctx, e.Replication, job.Set.Database, timeout); err != nil {
			return setmodel.ShardResult{}, fmt.Errorf("make this replica of shard %d current before its backup: %w", job.Shard, err)
		}
	}
	kind, reason := model.KindFull, job.Set.KindReason
	if job.Set.Kind == setmodel.KindIncremental {
		kind = model.KindIncremental
		cat, err := e.Service.Catalog(ctx, job.Set.Database)
		if err != nil {
			return setmodel.ShardResult{}, fmt.Errorf("read shard %d's chains of %s: %w", job.Shard, job.Set.Database, err)
		}
		if _, ok := cat.NewestCompletedChain(); !ok {
			kind, reason = model.KindFull, "the set is incremental, but this shard has no completed full of its own: it takes a full"
		}
	}
	db, err := model.ParseDatabaseName(job.Set.Database) // set.json is read from the bucket
	if err != nil {
		return setmodel.ShardResult{}, fmt.Errorf("back up shard %d: %w", job.Shard, err)
	}
	// Resumable: a stop is not the shard's end; the step is taken again
	// after a restart, under the same request, and adopts this backup.
	req := sidecar.BackupRequest{Database: db, Kind: kind, RequestID: job.RequestID, RequestedBy: job.Set.RequestedBy, WaitForLease: true,
		Resumable: true}
	b, err := e.Service.Backup(ctx, req)
	if errors.Is(err, model.ErrBrokenChain) {
		// The shard's chain cannot take another link (an object of it is
		// gone): refused before anything was written, so the shard starts
		// a new chain under the same request.
		kind, reason = model.KindFull, "the set is incremental, but this shard's chain is broken: it takes a full ("+err.Error()+")"
		req.Kind = kind
		b, err = e.Service.Backup(ctx, req)
	}
	res := setmodel.ShardResult{Backup: b.Name, Folder: b.Folder, Kind: string(b.Kind), KindReason: reason,
		Base: b.Base, Chain: b.Chain, Tables: b.Tables}
	if err != nil {
		return res, fmt.Errorf("back up shard %d of %s: %w", job.Shard, job.Set.Database, err)
	}
	return res, nil
}

// RestoreEngine is the Restorer that runs this node's steps of a set's
// restore with the engine, on this node's server.
type RestoreEngine struct {
	Service *sidecar.Service
	// Rights returns nil when user may restore on this node (Restorer.Allowed).
	Rights func(ctx context.Context, who setmodel.Requester, database, target string, rows, createDatabase bool) error
	// Copies is the engine reading a [[copy]] target's backups (ClickHouse
	// reaching that target with its credentials); nil: none configured.
	Copies func(ctx context.Context, name string) (*sidecar.Service, error)
}

var _ Restorer = RestoreEngine{}

// Allowed asks this node's grants (Rights).
func (e RestoreEngine) Allowed(ctx context.Context, who setmodel.Requester, database, target string, rows, createDatabase bool) error {
	return e.Rights(ctx, who, database, target, rows, createDatabase)
}

// Target inspects database on this node.
func (e RestoreEngine) Target(ctx context.Context, database string) (model.Target, error) {
	return e.Service.InspectTarget(ctx, database)
}

// TableRows counts each table's rows on this node.
func (e RestoreEngine) TableRows(ctx context.Context, database string) (map[string]uint64, error) {
	return e.Service.Steps().TableRows(ctx, database)
}

// Start sends a RESTORE, reading the primary bucket or the copy target.
func (e RestoreEngine) Start(ctx context.Context, cmd sidecar.RestoreCommand, copyName string) error {
	svc, err := e.reading(ctx, copyName)
	if err != nil {
		return err
	}
	return svc.Steps().Start(ctx, cmd)
}

// Await waits for a RESTORE to end. A RESTORE from a copy target is
// awaited through that target's engine, whose errors have its
// credentials taken out (ClickHouse's can quote the S3() arguments).
func (e RestoreEngine) Await(ctx context.Context, id, what, target, copyName string) error {
	svc, err := e.reading(ctx, copyName)
	if err != nil {
		return e.awaitUnreadable(ctx, id, what, target, copyName, err)
	}
	return awaitVerdict(svc.Steps().Await(ctx, id, what, target, nil))
}

// awaitUnreadable waits for a RESTORE from copy target copyName, which
// cannot be read from here now (gone from the configuration, its keys
// refused: why): the operation is this node's, in its own system.backups,
// so the primary's engine waits for it. Its message, which may quote the
// copy's keys (only that target's engine takes them out), is left out.
// Taken as no verdict, the step stayed started, and every run after it
// waited its deadline on the same target.
func (e RestoreEngine) awaitUnreadable(ctx context.Context, id, what, target, copyName string, why error) error {
	op, err := e.Service.Steps().Await(ctx, id, what, target, nil)
	if err != nil && op.Status != "" {
		return fmt.Errorf("the RESTORE of %s from copy target %s ended %s (its message left out: %w)", what, copyName, op.Status, why)
	}
	return awaitVerdict(op, err)
}

// awaitVerdict is how a wait for a RESTORE ended, for a restore step: nil
// (RESTORED), sidecar.ErrNotFound (no such operation), ErrNoVerdict (no
// status read: the wait timed out or lost ClickHouse, and it may run yet),
// or the error of a status that ended it otherwise.
func awaitVerdict(op sidecar.Operation, err error) error {
	if err != nil && op.Status == "" && !errors.Is(err, sidecar.ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrNoVerdict, err)
	}
	return err
}

// reading is the engine reading the primary bucket ("") or copy target
// copyName.
func (e RestoreEngine) reading(ctx context.Context, copyName string) (*sidecar.Service, error) {
	if copyName == "" {
		return e.Service, nil
	}
	if e.Copies == nil {
		return nil, fmt.Errorf("restore from copy target %s: this node has no [[copy]] targets (every node needs the same)", copyName)
	}
	svc, err := e.Copies(ctx, copyName)
	if err != nil {
		return nil, fmt.Errorf("restore from copy target %s: %w", copyName, err)
	}
	return svc, nil
}
