package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

// restoreArgs are the restore command's flags.
type restoreArgs struct {
	backup, asOf, target, database, mode, consumers, from, fromCluster string
	tables, partitions                                                 []string
	dryRun                                                             bool
	shard                                                              int
}

func restoreCommand(run runner) *cobra.Command {
	var f restoreArgs
	cmd := &cobra.Command{Use: "restore", Short: "Restore a backup (and the chain under it) into a database, or some of its tables"}
	cmd.Flags().StringVar(&f.consumers, "consumers", "", "tables that consume or write outside the target (Kafka, refreshable views, …): "+
		"skip (leave them out) or include (restore them live; refreshable views stopped); default: refuse, naming them")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "print the plan (what is restored, renamed, left out, and why) and restore nothing")
	cmd.Flags().StringArrayVar(&f.tables, "table", nil, `restore only this table: "orders" or "orders AS orders_old" (repeat for more)`)
	cmd.Flags().StringArrayVar(&f.partitions, "partition", nil, "restore only this partition of the one --table (repeat for more)")
	cmd.Flags().StringVar(&f.mode, "mode", "data", "data (into new or empty tables), schema (definitions only) or replace "+
		"(restore the named tables beside the live ones, check them, swap them in atomically; with --partition, replace those partitions in place)")
	cmd.Flags().StringVar(&f.backup, "backup", "", "backup name, on a cluster node a set's (default: the newest completed)")
	cmd.Flags().StringVar(&f.asOf, "as-of", "", "restore the newest completed backup (set) at or before this time (RFC 3339)")
	cmd.Flags().StringVar(&f.target, "target", "", "database to restore into (default: the same name); must not exist or be empty")
	cmd.Flags().StringVar(&f.database, "database", "", "whose backups (default: clickhouse.database)")
	cmd.Flags().StringVar(&f.from, "from", "", "restore from this [[copy]] target instead of the primary bucket")
	cmd.Flags().IntVar(&f.shard, "shard", 0, "on a cluster node, restore only this shard of the set, where the whole set's restore would put it")
	cmd.Flags().StringVar(&f.fromCluster, "from-cluster", "", "on a cluster node, restore a set of the cluster of this cluster.id "+
		"(in the same bucket and prefix) onto this cluster")
	cmd.MarkFlagsMutuallyExclusive("backup", "as-of")
	cmd.RunE = run(func(ctx context.Context, a *app) error {
		db, when, err := singleDatabaseAndTime(a, f.database, f.asOf)
		if err != nil {
			return err
		}
		if a.cluster == nil {
			return f.restoreOnServer(ctx, a, db, when)
		}
		return a.restoreSet(ctx, setRestoreFlags{database: db, set: f.backup, target: f.target, mode: f.mode, consumers: f.consumers,
			asOf: when, tables: f.tables, partitions: f.partitions, dryRun: f.dryRun, shard: f.shard, fromCluster: f.fromCluster,
			fromCopy: f.from})
	})
	return cmd
}

// restoreOnServer is `clickvault restore` on a single server.
func (f *restoreArgs) restoreOnServer(ctx context.Context, a *app, db string, when time.Time) error {
	if f.shard != 0 || f.fromCluster != "" {
		return &usageError{errors.New("--shard, --from-cluster: a restore of a set is for a cluster node (cluster.name)")}
	}
	if f.from != "" {
		if _, err := a.copyTarget(f.from); err != nil {
			return &usageError{fmt.Errorf("--from: %w", err)}
		}
	}
	req := sidecar.RestoreRequest{Database: db, Backup: f.backup, AsOf: when, Target: f.target, Partitions: f.partitions,
		RequestedBy: "cli", DryRun: f.dryRun}
	var err error
	if req.Mode, err = model.ParseRestoreMode(f.mode); err != nil {
		return &usageError{err}
	}
	if req.Consumers, err = model.ParseConsumers(f.consumers); err != nil {
		return &usageError{fmt.Errorf("--consumers: %w", err)}
	}
	for _, t := range f.tables {
		tr, err := model.ParseTableRestore(t)
		if err != nil {
			return &usageError{fmt.Errorf("--table: %w", err)}
		}
		req.Tables = append(req.Tables, tr)
	}
	return a.restoreFrom(ctx, f.from, req)
}

// restoreFrom restores on a single server, from the copy target from
// names, or from the primary (or, when the primary cannot serve the
// backup, the first copy that holds it), and prints what it restored.
func (a *app) restoreFrom(ctx context.Context, from string, req sidecar.RestoreRequest) error {
	src, err := sidecar.ChooseSource(ctx, a.service, a.copyReaders(), from, sidecar.BackupWanted{Database: req.Database, Backup: req.Backup,
		AsOf: req.AsOf, Tables: model.SourceTables(req.Tables), Sound: true})
	if err != nil {
		return err
	}
	switch {
	case src.Why != "" && src.Name == "":
		a.logger.Warn("restoring from the primary all the same", "because", src.Why)
	case src.Why != "":
		a.logger.Warn("restoring from a copy target", "copy", src.Name, "because", src.Why)
	}
	service := src.Service
	req.Backup, req.AsOf = src.Pinned(req.Backup, req.AsOf)
	progress := newProgressPrinter(a.stderr, a.logger, "restore")
	req.Progress = progress.update
	res, err := service.Restore(ctx, req)
	progress.done()
	if res.Plan != nil && (req.DryRun || err == nil) {
		if _, perr := fmt.Fprintln(a.stdout, strings.Join(res.Plan.Lines(), "\n")); perr != nil {
			return errors.Join(err, perr)
		}
	}
	if err != nil || req.DryRun {
		return err
	}
	what := "restored"
	if req.Mode == model.ModeSchema {
		what = "restored the definitions (no data) of"
	}
	if src.Name != "" {
		what += " (from copy target " + src.Name + ")"
	}
	if _, err := fmt.Fprintf(a.stdout, "%s %s backup %s of %s into %s\n", what, res.Backup.Kind, res.Backup.Name, req.Database, res.Target); err != nil {
		return err
	}
	return printTables(a.stdout, res.Tables)
}
