package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/config"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/s3"
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
	return n.layoutUnder(prefix).Node(n.position.Shard, n.position.Replica)
}

// layoutUnder is the cluster's layout under a copy target's prefix.
func (n *clusterNode) layoutUnder(prefix string) coord.ClusterLayout {
	return coord.ClusterLayout{Prefix: prefix, ClusterID: n.layout.ClusterID}
}

// setsCopier is a cluster node's copy round of one database to one
// target: the node's shard's backups (the engine's copy), then the sets'
// records (cluster.SetCopy), so a set is whole at the target once every
// shard's backup is. A target with its own [copy.retention] is sent
// neither the sets its cleanup would delete nor the backups only those
// need (planned on the primary's sets each round).
type setsCopier struct {
	engine   control.Copier
	sets     map[string]cluster.SetCopy    // by target name
	policies map[string]setmodel.SetPolicy // by target name: the targets with a retention of their own
	app      *app
}

// setsCopierOf is the copier of serve's copy rounds and the CLI's copy: on a cluster node
// with its coordinator, the sets' records follow each shard's backups.
func (a *app) setsCopierOf(co *cluster.Coordinator, targets []sidecar.CopyTarget) control.Copier {
	if co == nil {
		return a.service
	}
	c := setsCopier{engine: a.service, sets: map[string]cluster.SetCopy{}, policies: map[string]setmodel.SetPolicy{}, app: a}
	for _, t := range targets {
		cfg, ok := a.cfg.CopyTarget(t.Name)
		if !ok { // cannot happen: targets are made from cfg.Copy
			continue
		}
		c.sets[t.Name] = cluster.SetCopy{Coord: co, Target: t.Store, Layout: a.cluster.layoutUnder(cfg.Prefix)}
		if cfg.Retention != nil {
			c.policies[t.Name] = setPolicyOf(*cfg.Retention)
		}
	}
	return c
}

func (c setsCopier) Copy(ctx context.Context, t sidecar.CopyTarget, database string) (sidecar.CopyReport, error) {
	sets, ok := c.sets[t.Name]
	if !ok {
		return c.engine.Copy(ctx, t, database)
	}
	unwantedSets, unwantedLinks := c.unwanted(ctx, t.Name, database)
	t.Unwanted = func(context.Context, string) (map[string]bool, error) { return unwantedLinks, nil }
	rep, err := c.engine.Copy(ctx, t, database)
	if ctx.Err() != nil {
		return rep, err
	}
	got, setErr := sets.CopySets(ctx, database, unwantedSets)
	if got.Sets > 0 || got.Results > 0 {
		c.app.logger.Info("sets' records copied", "target", t.Name, "database", database,
			"shard_results", got.Results, "sets_whole", got.Sets)
	}
	rep = withStaleSets(rep, got)
	if len(got.Stale) > 0 {
		c.app.logger.Warn(fmt.Sprintf("sets sealed over %s ago are not whole at the copy target: every node needs the same "+
			"[[copy]] targets, and each must be able to copy its shard (its log says why not)", cluster.StaleSetCopy),
			"target", t.Name, "database", database, "sets", strings.Join(got.Stale, "; "))
	}
	if setErr != nil {
		setErr = fmt.Errorf("copy the sets' records of %s to %s: %w", database, t.Name, setErr)
	}
	return rep, errors.Join(err, setErr)
}

// withStaleSets counts in a copy's lag the stale sets (sealed over
// cluster.StaleSetCopy ago, not whole at the target): the copy, as the
// cluster's bucket, restores nothing newer than the newest whole set.
func withStaleSets(rep sidecar.CopyReport, sets cluster.SetCopyReport) sidecar.CopyReport {
	if sets.NewestStale.After(rep.NewestPending) {
		rep.NewestPending = sets.NewestStale
	}
	return rep
}

// unwanted are the sets of database, and this node's shard's backups,
// that target's own retention would delete (nothing without one), planned
// on the primary's sets. A plan that fails (a set.json it cannot read)
// wants everything, said in the log: a round sends what the target's next
// cleanup may delete, rather than stop copying.
func (c setsCopier) unwanted(ctx context.Context, target, database string) (sets, links map[string]bool) {
	policy, own := c.policies[target]
	if !own {
		return nil, nil
	}
	requests := cluster.Requests{Coord: c.sets[target].Coord, Chains: shardChains{c.app}, Policy: policy}
	plan, err := requests.RetentionPlan(ctx, database)
	if err != nil {
		c.app.logger.Warn("plan the copy target's own retention; this round sends every set", "target", target,
			"database", database, "err", err)
		return nil, nil
	}
	return namesIn(plan.DeleteSets), namesIn(plan.DeleteLinks[c.app.cluster.position.Shard])
}

func namesIn(names []string) map[string]bool {
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out
}

// setPolicyOf is a [retention] table as the retention of sets reads it:
// completed full sets kept and a number of days (the calendar rules are a
// single server's).
func setPolicyOf(r config.Retention) setmodel.SetPolicy {
	return setmodel.SetPolicy{KeepFullSets: r.KeepFullBackups, KeepFor: dayDuration(r.KeepDays)}
}

// setsAtCopy are the sets at copy target name, as a cleanup of it reads and
// deletes them: whole sets by the target's own [copy.retention] (else
// [retention]'s), each shard's backups through an engine on the target.
func (a *app) setsAtCopy(ctx context.Context, name string) (cluster.Requests, error) {
	t, err := a.copyTarget(name)
	if err != nil {
		return cluster.Requests{}, &usageError{err}
	}
	store, err := copyStore(ctx, t)
	if err != nil {
		return cluster.Requests{}, err
	}
	layout := a.cluster.layoutUnder(t.Prefix)
	co := cluster.New(store, layout, a.cluster.name, cluster.Member{Holder: a.instance, Position: a.cluster.position},
		nil, cluster.Options{}, a.logger.With("copy", name))
	policy := setPolicyOf(a.cfg.Retention)
	if t.Retention != nil {
		policy = setPolicyOf(*t.Retention)
	}
	_, primary := a.sets(nil, 1)
	reading := func(ctx context.Context, database string) ([]setmodel.OpenRestore, error) {
		return primary.RestoresReading(ctx, database, name) // the sets they read are kept here
	}
	return cluster.Requests{Coord: co, Chains: copyShardChains{a: a, target: t, store: store, layout: layout},
		Policy: policy, RequestRetention: a.cfg.RequestRetention(), AtCopy: true, ReadingThis: reading}, nil
}

// copyShardChains are the shards' chains at a copy target.
type copyShardChains struct {
	a      *app
	target config.CopyTarget
	store  *s3.ObjectStore
	layout coord.ClusterLayout
}

func (c copyShardChains) service(n int) *sidecar.Service {
	return c.a.copyService(c.target, c.store, c.layout.Engine(n))
}

func (c copyShardChains) Links(ctx context.Context, database string, n int) ([]setmodel.Link, error) {
	return linksOf(ctx, c.service(n), database)
}

func (c copyShardChains) Delete(ctx context.Context, database string, n int, names []string) ([]string, error) {
	return c.service(n).DeleteBackups(ctx, database, names)
}

// copySetsSource opens copy target name as the source of a set's restore:
// its store and prefix (the cluster's layout under it).
func copySetsSource(ctx context.Context, a *app, name string) (coord.ObjectStore, string, error) {
	t, store, err := openCopy(ctx, a, name)
	if err != nil {
		return nil, "", err
	}
	return store, t.Prefix, nil
}

// copyShardService is the engine on shard n's chains at copy target name,
// ClickHouse reading backups from it: a set's restore from the copy plans
// each shard from its backup there.
func copyShardService(ctx context.Context, a *app, name string, n int) (*sidecar.Service, error) {
	t, store, err := openCopy(ctx, a, name)
	if err != nil {
		return nil, err
	}
	return a.copyService(t, store, a.cluster.layoutUnder(t.Prefix).Engine(n)), nil
}
