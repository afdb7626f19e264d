package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/config"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

const defaultConfigPath = "/etc/clickvault/config.toml"

type rootFlags struct {
	config   string
	logLevel string
}

func newRootCommand(stdout, stderr io.Writer, environ func() []string) *cobra.Command {
	var flags rootFlags
	root := &cobra.Command{
		Use:           "clickvault",
		Short:         "Back ClickHouse up to S3 in deep incremental chains, and restore it",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVarP(&flags.config, "config", "c", defaultConfigPath, "config file (TOML)")
	root.PersistentFlags().StringVarP(&flags.logLevel, "log-level", "l", "info", "log level: debug, info, warn, error")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	load := func(cmd *cobra.Command) (config.Config, error) {
		return loadConfig(flags.config, cmd.Flags().Changed("config"), environ)
	}
	run := func(fn func(context.Context, *app) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(flags.logLevel)); err != nil {
				return &usageError{fmt.Errorf("--log-level: %w", err)}
			}
			cfg, err := load(cmd)
			if err != nil {
				return err
			}
			if err := refuseOnCluster(cfg, cmd.Name()); err != nil {
				return err
			}
			instance := coord.Holder{Name: processHolder()}
			if cmd.Name() == "serve" {
				// Run: a twin of this name (a copied configuration on a host
				// of the same name) is told from this run's restart.
				instance = coord.Holder{Name: sidecarInstance(cfg.Sidecar.Listen), Stable: true, Run: coord.ProcessRun}
			}
			a, err := newApp(cmd.Context(), cfg, level, instance, stdout, stderr)
			if err != nil {
				return err
			}
			defer a.close()
			return fn(cmd.Context(), a)
		}
	}
	root.AddCommand(backupCommand(run), listCommand(run), statusCommand(run), cleanupCommand(run),
		restoreCommand(run), verifyCommand(run), checkCommand(run), copyCommand(run), serveCommand(run), initCommand(run, load, stdout), healthCommand(stdout), versionCommand(stdout))
	for _, c := range root.Commands() {
		c.Args = cobra.NoArgs
	}
	root.Args = cobra.ArbitraryArgs
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return &usageError{fmt.Errorf("unknown command %q; see clickvault --help", args[0])}
		}
		_ = cmd.Help()
		return &usageError{errors.New("no command given")}
	}
	return root
}

type runner func(func(context.Context, *app) error) func(*cobra.Command, []string) error

func backupCommand(run runner) *cobra.Command {
	var full bool
	var kind, database string
	cmd := &cobra.Command{Use: "backup", Short: "Take a backup: full or incremental, decided by the schedule"}
	cmd.Flags().BoolVar(&full, "full", false, "force a full backup (a new chain)")
	cmd.Flags().StringVar(&kind, "kind", "auto", "auto, full or incremental")
	cmd.Flags().StringVar(&database, "database", "", "back up only this database")
	var include, exclude []string
	cmd.Flags().StringArrayVar(&include, "table", nil, "back up only this table (repeat for more; default: the config's tables.<database>)")
	cmd.Flags().StringArrayVar(&exclude, "exclude-table", nil, "back up every table but this one (repeat for more)")
	cmd.MarkFlagsMutuallyExclusive("table", "exclude-table")
	cmd.RunE = run(func(ctx context.Context, a *app) error {
		k, err := model.ParseKind(kind)
		if err != nil {
			return &usageError{err}
		}
		ownSet, err := model.NewTableSet(include, exclude)
		if err != nil {
			return &usageError{err}
		}
		if full {
			k = model.KindFull
		}
		dbs, err := a.databases(database)
		if err != nil {
			return err
		}
		// Every name is checked before any backup starts.
		reqs := make([]sidecar.BackupRequest, 0, len(dbs))
		for _, db := range dbs {
			name, err := model.ParseDatabaseName(db)
			if err != nil {
				return &usageError{err}
			}
			set := ownSet
			if set.All() {
				set = a.cfg.TableSets()[db]
			}
			reqs = append(reqs, sidecar.BackupRequest{Database: name, Kind: k, Tables: set, RequestedBy: "cli"})
		}
		if err := a.probeStore(ctx); err != nil {
			return err
		}
		// Copies of what completed follow the round; a copy's failure is
		// logged and never changes the round's exit code.
		parallel := 1 // one database: no server setting to read, nothing to warn of
		if len(reqs) > 1 {
			parallel = parallelDatabases(ctx, a.cfg.Backup.ParallelDatabases, a.db.BackupThreads, a.logger)
		}
		completed, err := a.backupRound(ctx, reqs, parallel)
		askMirror(ctx, a, dbs) // failed ones too: each left its failed backup's metadata
		a.copyAfterBackup(ctx, completed)
		return err
	})
	return cmd
}

func listCommand(run runner) *cobra.Command {
	var fullOnly, asJSON bool
	var database string
	cmd := &cobra.Command{Use: "list", Short: "List backups in S3, by chain"}
	cmd.Flags().BoolVar(&fullOnly, "full-only", false, "show only full backups")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&database, "database", "", "list only this database")
	cmd.RunE = run(func(ctx context.Context, a *app) error {
		dbs, err := a.databases(database)
		if err != nil {
			return err
		}
		// A database at a time: a thousand catalogs are not held at once.
		out := newCatalogPrinter(a.stdout, asJSON, a.store.URL, fullOnly)
		for _, db := range dbs {
			cat, err := a.service.Catalog(ctx, db)
			if err != nil {
				return err
			}
			if err := out.print(cat); err != nil {
				return err
			}
		}
		return out.end()
	})
	return cmd
}

func statusCommand(run runner) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{Use: "status", Short: "Show ClickHouse's newest backup and restore operations"}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.RunE = run(func(ctx context.Context, a *app) error {
		ops, err := a.service.Status(ctx, 10)
		if err != nil {
			return err
		}
		return printOperations(a.stdout, ops, asJSON)
	})
	return cmd
}

func cleanupCommand(run runner) *cobra.Command {
	var dryRun bool
	var database, copyName string
	cmd := &cobra.Command{Use: "cleanup", Short: "Delete chains beyond retention, whole chains at a time"}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would be deleted, delete nothing")
	cmd.Flags().StringVar(&database, "database", "", "clean up only this database")
	cmd.Flags().StringVar(&copyName, "copy", "", "clean up the copy at this [[copy]] target, by its own [copy.retention] (default: the primary bucket)")
	cmd.RunE = run(func(ctx context.Context, a *app) error {
		dbs, err := a.databases(database)
		if err != nil {
			return err
		}
		service, err := a.serviceAt(ctx, copyName)
		if err != nil {
			return err
		}
		if !dryRun && copyName != "" {
			if err := a.claimCopyTarget(ctx, copyName); err != nil {
				return err
			}
		}
		if !dryRun && copyName == "" {
			if err := a.probeStore(ctx); err != nil {
				return err
			}
		}
		if !dryRun && copyName == "" {
			defer askMirror(ctx, a, dbs)
		}
		if a.cluster != nil {
			return a.cleanupSets(ctx, copyName, dbs, dryRun)
		}
		var failed []error
		for _, db := range dbs {
			report, err := service.Cleanup(ctx, db, dryRun)
			if err != nil {
				failed = append(failed, fmt.Errorf("cleanup of %s: %w", db, err))
			}
			if err := printCleanup(a.stdout, report); err != nil {
				failed = append(failed, fmt.Errorf("print the cleanup of %s: %w", db, err))
			}
		}
		return errors.Join(failed...)
	})
	return cmd
}

func checkCommand(run runner) *cobra.Command {
	var backup, database, copyName string
	cmd := &cobra.Command{Use: "check", Short: "Check without restoring that every object the backups need is in S3 with its size; exit 1 if one is broken"}
	cmd.Flags().StringVar(&backup, "backup", "", "check only this backup and those it is built on (default: every completed backup)")
	cmd.Flags().StringVar(&database, "database", "", "check only this database")
	cmd.Flags().StringVar(&copyName, "copy", "", "check the copy at this [[copy]] target instead of the primary bucket")
	cmd.RunE = run(func(ctx context.Context, a *app) error {
		dbs, err := a.databases(database)
		if err != nil {
			return err
		}
		service, err := a.serviceAt(ctx, copyName)
		if err != nil {
			return err
		}
		if copyName == "" {
			defer askMirror(ctx, a, dbs) // the check results the table shows
		}
		var failed []error
		for _, db := range dbs {
			start := time.Now()
			rep, err := service.Check(ctx, db, backup)
			if err != nil {
				failed = append(failed, fmt.Errorf("check of %s: %w", db, err))
			}
			if err := printCheck(a.stdout, rep, time.Since(start)); err != nil {
				failed = append(failed, fmt.Errorf("print the check of %s: %w", db, err))
			}
		}
		return errors.Join(failed...)
	})
	return cmd
}

func verifyCommand(run runner) *cobra.Command {
	var backup, database string
	cmd := &cobra.Command{Use: "verify", Short: "Restore a backup into a scratch database, compare each table with the backup's parts, CHECK TABLE, drop it"}
	cmd.Flags().StringVar(&backup, "backup", "", "backup name (default: the newest completed)")
	cmd.Flags().StringVar(&database, "database", "", "whose backups (default: clickhouse.database)")
	cmd.RunE = run(func(ctx context.Context, a *app) error {
		db, _, err := singleDatabaseAndTime(a, database, "")
		if err != nil {
			return err
		}
		progress := newProgressPrinter(a.stderr, a.logger, "verify")
		res, err := a.service.Verify(ctx, db, backup, progress.update)
		progress.done()
		askMirror(ctx, a, []string{db})
		if perr := printVerify(a.stdout, res); perr != nil {
			return errors.Join(err, perr)
		}
		p := &printer{w: a.stdout}
		for _, e := range res.Skipped { // never recreated live by a verify (restore_plan.go)
			p.printf("  %s: left out, not verified: %s\n", e.Table, strings.Join(e.Reasons, "; "))
		}
		return errors.Join(err, p.err)
	})
	return cmd
}

func versionCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{Use: "version", Short: "Print the version", RunE: func(*cobra.Command, []string) error {
		_, err := fmt.Fprintln(stdout, "clickvault", version)
		return err
	}}
}

func singleDatabaseAndTime(a *app, database, asOf string) (string, time.Time, error) {
	dbs, err := a.databases(database)
	if err != nil {
		return "", time.Time{}, err
	}
	if len(dbs) > 1 {
		return "", time.Time{}, &usageError{fmt.Errorf("several databases are configured: pass --database")}
	}
	var when time.Time
	if asOf != "" {
		if when, err = parseTime(asOf); err != nil {
			return "", time.Time{}, &usageError{err}
		}
	}
	return dbs[0], when, nil
}

// parseTime accepts RFC 3339, "YYYY-MM-DD HH:MM:SS[.mmm]" (UTC) and a backup name.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if t, err := model.ParseName(s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--as-of %q: want a time such as 2026-11-24T12:00:00Z", s)
}
