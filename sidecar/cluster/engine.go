package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

// Engine is the Executor that backs this node's shard up with the engine,
// exactly as a single server's backup: ClickHouse's own BACKUP of the
// local database, its chains, lease and catalog in the shard's folder.
// Its Service MUST be made with Layout.Engine(this node's shard): then
// every base it picks is a link of the same shard.
type Engine struct {
	Service *sidecar.Service
}

var _ Executor = Engine{}

// BackupShard takes the shard's backup of the kind the set decided. In an
// incremental set a shard with no completed full of its own (new to the
// cluster, or its chains gone), or whose chain is broken, takes a full,
// and the result says why.
func (e Engine) BackupShard(ctx context.Context, job Job) (ShardResult, error) {
	kind, reason := model.KindFull, job.Set.KindReason
	if job.Set.Kind == KindIncremental {
		kind = model.KindIncremental
		cat, err := e.Service.Catalog(ctx, job.Set.Database)
		if err != nil {
			return ShardResult{}, fmt.Errorf("read shard %d's chains of %s: %w", job.Shard, job.Set.Database, err)
		}
		if _, ok := cat.NewestCompletedChain(); !ok {
			kind, reason = model.KindFull, "the set is incremental, but this shard has no completed full of its own: it takes a full"
		}
	}
	db, err := model.ParseDatabaseName(job.Set.Database) // set.json is read from the bucket
	if err != nil {
		return ShardResult{}, fmt.Errorf("back up shard %d: %w", job.Shard, err)
	}
	req := sidecar.BackupRequest{Database: db, Kind: kind, RequestID: job.RequestID, RequestedBy: job.Set.RequestedBy, WaitForLease: true}
	b, err := e.Service.Backup(ctx, req)
	if errors.Is(err, model.ErrBrokenChain) {
		// The shard's chain cannot take another link (an object of it is
		// gone): refused before anything was written, so the shard starts
		// a new chain under the same request.
		kind, reason = model.KindFull, "the set is incremental, but this shard's chain is broken: it takes a full ("+err.Error()+")"
		req.Kind = kind
		b, err = e.Service.Backup(ctx, req)
	}
	res := ShardResult{Backup: b.Name, Folder: b.Folder, Kind: string(b.Kind), KindReason: reason,
		Base: b.Base, Chain: b.Chain, Tables: b.Tables}
	if err != nil {
		return res, fmt.Errorf("back up shard %d of %s: %w", job.Shard, job.Set.Database, err)
	}
	return res, nil
}
