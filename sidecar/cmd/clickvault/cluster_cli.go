package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/model"
)

// setRestoreFlags are the restore command's flags as a set's restore
// takes them.
type setRestoreFlags struct {
	database, set, target, mode, consumers string
	asOf                                   time.Time
	tables, partitions                     []string
	dryRun                                 bool
	shard                                  int    // one shard of the set alone (0 = every shard)
	fromCluster                            string // another cluster's set, by its cluster.id ("" = this cluster's)
	fromCopy                               string // the [[copy]] target to read the set from ("" = the primary bucket)
}

// restoreSet is `clickvault restore` on a cluster node: the restore of a
// set of the cluster, asked as the sidecar's own login. This process
// plans it, writes its record and waits; every node's `clickvault serve`
// runs its own steps, so serve must run on each. Run again, it goes on
// from the record, adding nothing twice.
func (a *app) restoreSet(ctx context.Context, f setRestoreFlags) error {
	switch {
	case !slices.Contains(a.cfg.DatabaseList(), f.database):
		return &usageError{fmt.Errorf("--database %s: the nodes run the steps of restores of the databases they back up "+
			"(databases = %v): a set's database must be one of them", f.database, a.cfg.DatabaseList())}
	case len(f.tables) > 0 || len(f.partitions) > 0:
		return &usageError{errors.New("--table, --partition: on a cluster node a restore is of a set, every shard's whole database")}
	case f.shard < 0 || f.shard > 65535:
		return &usageError{fmt.Errorf("--shard %d: a shard of the set (1 to 65535), or 0 for every shard", f.shard)}
	}
	if mode, err := model.ParseRestoreMode(f.mode); err != nil || mode != model.ModeData {
		return &usageError{fmt.Errorf("--mode %s: on a cluster node a set's restore is mode data", f.mode)}
	}
	consumers, err := model.ParseConsumers(f.consumers)
	if err != nil || consumers == model.ConsumersInclude {
		return &usageError{fmt.Errorf("--consumers %q: on a cluster node, '' (refuse, naming them) or skip", f.consumers)}
	}
	if f.target != "" {
		if err := model.ValidateIdentifier("--target", f.target); err != nil {
			return &usageError{err}
		}
	}
	if f.fromCluster != "" {
		if err := model.ValidateClusterID("--from-cluster", f.fromCluster); err != nil {
			return &usageError{err}
		}
	}
	if f.fromCopy != "" && f.fromCluster != "" {
		return &usageError{errors.New("--from, --from-cluster: a set is read from a copy target or from another cluster's folder, not both")}
	}
	if f.fromCopy != "" {
		if _, err := a.copyTarget(f.fromCopy); err != nil {
			return &usageError{fmt.Errorf("--from: %w", err)}
		}
	}
	if _, err := a.service.InspectTarget(ctx, model.OrWord(f.target, f.database)); errors.Is(err, model.ErrForbiddenTarget) {
		return &usageError{err}
	}
	_, sets := a.sets(nil, 1)
	req := control.SetRestoreRequest{Database: f.database, Target: f.target, Set: f.set, AsOf: f.asOf, Shard: f.shard,
		SourceCluster: f.fromCluster, SourceCopy: f.fromCopy, Consumers: consumers, DryRun: f.dryRun, RequestID: uuid.NewString(), RequestedBy: a.cfg.ClickHouse.User, Operator: true}
	out, err := sets.RestoreSet(ctx, req, func(_, message string) { a.logger.Info(message) })
	if err != nil && f.fromCopy != "" && !errors.Is(err, control.ErrRejected) {
		return fmt.Errorf("restore of set %s from copy target %s (its record and the nodes' list are in the primary bucket: "+
			"with that lost, point every node's [s3] at the copy, docs/cluster.md#copies): %w", out.Set, f.fromCopy, err)
	}
	if err != nil {
		return fmt.Errorf("restore of set %s: %w", out.Set, err)
	}
	if _, err := fmt.Fprintln(a.stdout, out.Message()); err != nil {
		return err
	}
	if !out.Restored() && out.State != control.SetRestorePlanned {
		return fmt.Errorf("restore of set %s into %s: %s", out.Set, out.Target, out.State)
	}
	return nil
}

// cleanupSets is `clickvault cleanup` on a cluster node: retention of
// every listed database's sets, in the primary bucket or (copy) at a copy
// target, by its own rules.
func (a *app) cleanupSets(ctx context.Context, copyName string, dbs []string, dryRun bool) error {
	var sets cluster.Requests
	if copyName == "" {
		_, sets = a.sets(nil, 1)
	} else {
		var err error
		if sets, err = a.setsAtCopy(ctx, copyName); err != nil {
			return err
		}
	}
	var failed []error
	for _, db := range dbs {
		out, err := sets.CleanupSets(ctx, db, dryRun)
		if _, perr := fmt.Fprintf(a.stdout, "%s: %s\n", db, out.Message()); perr != nil {
			failed = append(failed, perr)
		}
		if err != nil {
			failed = append(failed, fmt.Errorf("cleanup of the sets of %s: %w", db, err))
		}
	}
	return errors.Join(failed...)
}
