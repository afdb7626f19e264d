package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/hooks/httpapi"
	"github.com/clickvault/clickvault/hooks/metrics"
	"github.com/clickvault/clickvault/hooks/notify"
	"github.com/clickvault/clickvault/sidecar/clickhouse"
	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/config"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

func serveCommand(run runner) *cobra.Command {
	cmd := &cobra.Command{Use: "serve", Short: "Run as a sidecar: SQL control plane, HTTP hooks, schedule"}
	serve := run(func(ctx context.Context, a *app) error {
		if err := requireOwnLogin(a.cfg.ClickHouse.User, a.cfg.ClickHouse.Password.Reveal()); err != nil {
			return &usageError{err}
		}
		proofKey := control.ProofKey(a.cfg.ClickHouse.Password.Reveal())
		plane, err := a.controlPlane(ctx, proofKey)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", a.cfg.Sidecar.Listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", a.cfg.Sidecar.Listen, err)
		}
		if err := coord.MarkRunHere(); err != nil { // a restart here then asks the kernel, not S3, whether this run is gone
			a.logger.Warn("a restart of this sidecar here will watch 30 s for this run instead", "err", err)
		}
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		// A request's answer must not wait for Slack: the sidecar sends
		// notifications from a queue (the CLI sends them before it exits).
		notifications := notify.NewQueue(a.notifier, a.logger)
		a.service.SetNotifier(notifications)
		a.queue = notifications
		var sets *cluster.Coordinator
		var setBackups control.ClusterSets
		copiesAfter := &lateCopies{} // made once the copy targets are claimed, in runServe
		hooks := a.hookOptions()
		if a.cluster != nil {
			var requests cluster.Requests
			// A node steps this many databases' sets and restores at once.
			sets, requests = a.sets(copiesAfter.nudge, parallelDatabases(ctx, a.cfg.Backup.ParallelDatabases, a.db.BackupThreads, a.logger))
			setBackups, hooks.Sets = requests, requests.ListSets
		}
		var started atomic.Pointer[control.Runner]
		srv := httpapi.New(plane, hooks, a.readiness(&started), reg, a.logger)
		g, gctx := errgroup.WithContext(ctx)
		// The HTTP hooks answer from the start (/readyz says no until the
		// runner runs): probing, claiming and sweeping a silent copy target
		// takes up to a minute each, and a liveness probe of /healthz must
		// not restart the sidecar for it, over and over.
		g.Go(func() error { return srv.Serve(gctx, ln) })
		a.logger.Info("sidecar serving", "http", ln.Addr().String(), "control_database", a.cfg.ClickHouse.ControlDatabase,
			"databases", a.cfg.DatabaseList(), "instance", a.instance.Name)
		g.Go(func() error {
			return a.runServe(gctx, serveParts{plane: plane, proofKey: proofKey, setBackups: setBackups, sets: sets, reg: reg,
				notifications: notifications, started: &started, copies: copiesAfter})
		})
		err = g.Wait()
		a.logger.Info("sidecar stopped")
		return err
	})
	cmd.RunE = func(c *cobra.Command, args []string) error {
		return stopIsNoFailure(c.Context(), serve(c, args), c.ErrOrStderr())
	}
	return cmd
}

// controlPlane is the SQL control plane, its tables created: they exist
// before the hooks answer, so a request posted as soon as /healthz
// answers is inserted, not refused for want of a table while the copy
// targets are claimed and swept.
func (a *app) controlPlane(ctx context.Context, proofKey []byte) (*clickhouse.ControlPlane, error) {
	plane, err := clickhouse.NewControlPlane(a.db, a.cfg.ClickHouse.ControlDatabase)
	if err != nil {
		return nil, &usageError{err}
	}
	plane.WithRequestRetention(a.cfg.Sidecar.RequestRetentionDays)
	plane.WithProof(a.cfg.ClickHouse.User, proofKey).WithLogger(a.logger)
	if err := plane.Init(ctx); err != nil {
		return nil, fmt.Errorf("create the control tables: %w", err)
	}
	return plane, nil
}

// stopIsNoFailure ends a serve stopped by SIGTERM or SIGINT as asked, exit
// 0, whatever step it was in: start-up too, which can take minutes
// (claiming a silent copy target, ClickHouse not answering yet). A
// supervisor's stop is not a failure to alert on or restart for. What the
// stop cut short is still said, in one line. Only an error the stop made
// (context.Canceled) is forgiven: one that came before the signal (a
// copy target another deployment owns, the listen address taken) keeps
// its exit code, as does a usage error (a configuration to mend).
func stopIsNoFailure(ctx context.Context, err error, stderr io.Writer) error {
	var usage *usageError
	if err == nil || ctx.Err() == nil || !errors.Is(err, context.Canceled) || errors.As(err, &usage) {
		return err
	}
	_, _ = fmt.Fprintf(stderr, "clickvault: stopped as asked, cutting short: %s\n", model.FirstLine(err.Error()))
	return nil
}

// serveParts are what serve made before its HTTP hooks answered, for
// runServe.
type serveParts struct {
	plane         control.ControlPlane
	proofKey      []byte
	setBackups    control.ClusterSets
	sets          *cluster.Coordinator
	reg           *prometheus.Registry
	notifications *notify.Queue
	started       *atomic.Pointer[control.Runner] // the runner, once made: /readyz asks it
	copies        *lateCopies                     // the copy rounds, once made: the sets' coordinator nudges them
}

// lateCopies are serve's copy rounds, made after the coordinator of sets
// that nudges them: a nudge before they are made is dropped (their first
// round copies everything anyway).
type lateCopies struct{ atomic.Pointer[control.Copies] }

func (l *lateCopies) nudge(database string) {
	if c := l.Load(); c != nil {
		c.BackupCompleted(database)
	}
}

// runServe claims the copy targets, makes the runner, sweeps what killed
// verifies and restores left, then runs the runner, the notifications,
// the copy rounds and (on a cluster node) the sets until ctx ends.
func (a *app) runServe(ctx context.Context, p serveParts) error {
	copies, err := a.copies(ctx, p.reg, p.sets)
	if err != nil {
		return err
	}
	if copies != nil {
		p.copies.Store(copies)
	}
	parallel := a.cfg.Backup.ParallelDatabases
	if a.cluster == nil { // a node's backups are its sets', bounded by the coordinator (a.sets)
		parallel = parallelDatabases(ctx, parallel, a.db.BackupThreads, a.logger)
	}
	runner := a.runner(p.plane, p.proofKey, p.setBackups, p.reg, copies, parallel)
	// What killed verifies and replaces left (scratch databases, staging
	// tables) goes before any request runs, so no adoption races it.
	a.service.SweepLeftovers(ctx)
	a.sweepCopies(ctx)
	p.started.Store(runner)
	g, gctx := errgroup.WithContext(ctx)
	// The notifications are sent until the parts that notify have stopped
	// (a request running at shutdown answers after ctx ends), or for
	// notify's drainFor after ctx ends.
	g.Go(func() error { return p.notifications.Run(gctx) })
	g.Go(func() error {
		defer p.notifications.Close()
		return runNotifiers(gctx, a, p, runner, copies)
	})
	return g.Wait()
}

// runNotifiers runs the parts of serve that notify, until ctx ends: the
// runner, the copy rounds and (on a cluster node) the sets. A function:
// app has its 30 methods.
func runNotifiers(ctx context.Context, a *app, p serveParts, runner *control.Runner, copies *control.Copies) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return runner.Run(gctx) })
	if copies != nil {
		g.Go(func() error { return copies.Run(gctx) })
	}
	if p.sets != nil {
		// This node's shard of every set, whichever node made it.
		a.logger.Info("cluster node", "cluster", a.cluster.name, "shard", a.cluster.position.Shard,
			"replica", a.cluster.position.Replica)
		g.Go(func() error {
			// The runner creates the control tables, probes the bucket
			// and claims the prefix first: nothing of sets is written
			// under a prefix it then refuses.
			if !waitStarted(gctx, runner) {
				return nil
			}
			return p.sets.Run(gctx, a.cfg.DatabaseList(), a.cfg.Poll())
		})
	}
	return g.Wait()
}

// waitStarted waits until runner has created the control tables, probed
// the bucket and claimed the prefix (control.Runner.Started), or ctx ends
// (false).
func waitStarted(ctx context.Context, runner *control.Runner) bool {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !runner.Started() {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

// runner is serve's request runner, configured.
func (a *app) runner(plane control.ControlPlane, proofKey []byte, sets control.ClusterSets, reg prometheus.Registerer,
	copies *control.Copies, parallelBackups int) *control.Runner {
	dbs := a.cfg.DatabaseList()
	def := ""
	if len(dbs) == 1 {
		def = dbs[0]
	}
	claims := coord.NewClaims(a.store, a.layout, a.instance.Name, a.logger)
	// Mirrors of the backups table off a request: the databases CLI runs
	// changed, and a copy round's that copied something (its copies).
	mirrors := control.NewMirrorRequests()
	if copies != nil {
		copies.OnChange(mirrors.Add)
	}
	return control.NewRunner(a.service, claims, plane, a.db.Rights(), control.Options{
		Instance: a.instance.Name, OwnUser: a.cfg.ClickHouse.User, DefaultDatabase: def, Databases: dbs,
		Poll: a.cfg.Poll(), IncrementalEvery: a.cfg.IncrementalInterval(), AllowUsers: a.cfg.Sidecar.AllowUsers,
		FaultPoint: faultPoint, TableSets: a.cfg.TableSets(), CheckEvery: a.cfg.CheckInterval(), ProofKey: proofKey,
		ConfirmWait: a.cfg.ConfirmWait(), Workers: a.cfg.Sidecar.Workers,
		ParallelBackups:  parallelBackups,
		RequestRetention: a.cfg.RequestRetention(), Sets: sets, CopyReaders: a.copyReaders(), Mirrors: mirrors,
	}, copyingObserver{Metrics: metrics.New(reg, a.cfg.RPOs(), dbs...), copies: copies}, a.logger)
}

// hookOptions are the HTTP hooks' databases and tokens.
func (a *app) hookOptions() httpapi.Options {
	hooks := httpapi.Options{Databases: a.cfg.DatabaseList(), RPO: a.cfg.RPOs(), CopyTargets: a.cfg.CopyNames()}
	for _, t := range a.cfg.Sidecar.AuthTokens {
		hooks.WriteTokens = append(hooks.WriteTokens, t.Reveal())
	}
	for _, t := range a.cfg.Sidecar.ReadTokens {
		hooks.ReadTokens = append(hooks.ReadTokens, t.Reveal())
	}
	return hooks
}

// readiness is /readyz: requests taken (the runner past its start:
// copy targets claimed and swept, the store probed), ClickHouse and S3
// answering.
func (a *app) readiness(started *atomic.Pointer[control.Runner]) func(context.Context) error {
	return func(ctx context.Context) error {
		if runner := started.Load(); runner == nil || !runner.Started() {
			return errors.New("starting: requests are not taken yet (copy targets claimed and swept, the S3 store probed)")
		}
		return errors.Join(a.db.Ping(ctx), a.store.Ping(ctx))
	}
}

// requireOwnLogin refuses to serve as a login that people share or that
// anyone may use: the sidecar's rows get the operator's exemptions, proven
// by a key derived from its password, and its login reads everyone's
// queries in the query log.
func requireOwnLogin(user, password string) error {
	switch {
	case user == "" || user == "default":
		return fmt.Errorf("clickhouse.user: serve refuses to run as %q, a login people share; "+
			"create the sidecar's own login (deploy/grants.sql makes clickvault) and set it", "default")
	case password == "":
		return fmt.Errorf("clickhouse.password: serve refuses to run as %q without a password "+
			"(set it in the file or CLICKVAULT_CLICKHOUSE_PASSWORD)", user)
	}
	return nil
}

// sidecarInstance names this sidecar stably across restarts: host and
// listen address. A restarted sidecar resumes its own requests at once.
func sidecarInstance(listen string) string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return host + "/" + listen
}

func initCommand(run runner, load func(*cobra.Command) (config.Config, error), stdout io.Writer) *cobra.Command {
	var apply bool
	cmd := &cobra.Command{Use: "init", Short: "Print the control-plane DDL, or apply it with --apply"}
	cmd.Flags().BoolVar(&apply, "apply", false, "create the control database, tables and views in ClickHouse")
	applyDDL := run(func(ctx context.Context, a *app) error {
		plane, err := clickhouse.NewControlPlane(a.db, a.cfg.ClickHouse.ControlDatabase)
		if err != nil {
			return &usageError{err}
		}
		plane.WithRequestRetention(a.cfg.Sidecar.RequestRetentionDays)
		if err := plane.Init(ctx); err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "control plane ready in database %s\n", a.cfg.ClickHouse.ControlDatabase)
		return err
	})
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if apply {
			return applyDDL(c, args)
		}
		cfg, err := load(c) // printing needs no connection
		if err != nil {
			return err
		}
		stmts, err := clickhouse.DDL(cfg.ClickHouse.ControlDatabase, cfg.Sidecar.RequestRetentionDays)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, strings.Join(stmts, ";\n\n")+";")
		return err
	}
	return cmd
}
