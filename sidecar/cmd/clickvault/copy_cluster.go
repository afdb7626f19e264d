package main

import (
	"context"
	"errors"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// copyLayout is where a copy target under prefix holds what this node
// writes: a single server's layout, or on a cluster node the node's as in
// the primary ({prefix}/{cluster id}/{database}/shard-{n}/…), so the
// target can serve as the cluster's bucket when the primary is lost.
func (a *app) copyLayout(prefix string) coord.Layout {
	if a.cluster == nil {
		return coord.Layout{Prefix: prefix}
	}
	n := a.cluster
	return coord.ClusterLayout{Prefix: prefix, ClusterID: n.layout.ClusterID}.Node(n.position.Shard, n.position.Replica)
}

// setsCopier is a cluster node's copy round of one database to one
// target: the node's shard's backups (the engine's copy), then the sets'
// records (cluster.SetCopy), so a set is whole at the target once every
// shard's backup is.
type setsCopier struct {
	engine control.Copier
	sets   map[string]cluster.SetCopy // by target name
	app    *app
}

// setsCopierOf is the copier of serve's copy rounds: on a cluster node
// with its coordinator, the sets' records follow each shard's backups.
func (a *app) setsCopierOf(co *cluster.Coordinator, targets []sidecar.CopyTarget) control.Copier {
	if co == nil {
		return a.service
	}
	c := setsCopier{engine: a.service, sets: map[string]cluster.SetCopy{}, app: a}
	for _, t := range targets {
		cfg, _ := a.cfg.CopyTarget(t.Name)
		c.sets[t.Name] = cluster.SetCopy{Coord: co, Target: t.Store,
			Layout: coord.ClusterLayout{Prefix: cfg.Prefix, ClusterID: a.cluster.layout.ClusterID}}
	}
	return c
}

func (c setsCopier) Copy(ctx context.Context, t sidecar.CopyTarget, database string) (sidecar.CopyReport, error) {
	rep, err := c.engine.Copy(ctx, t, database)
	sets, ok := c.sets[t.Name]
	if !ok || ctx.Err() != nil {
		return rep, err
	}
	got, setErr := sets.CopySets(ctx, database)
	if got.Sets > 0 || got.Results > 0 {
		c.app.logger.Info("sets' records copied", "target", t.Name, "database", database,
			"shard_results", got.Results, "sets_whole", got.Sets)
	}
	return rep, errors.Join(err, setErr)
}
