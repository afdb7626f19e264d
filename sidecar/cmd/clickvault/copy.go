package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/clickhouse"
	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/config"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
	"github.com/clickvault/clickvault/sidecar/s3"
)

// copyTargets are the configured [[copy]] targets (only the one named
// only, when not ""), connected; no request is made.
func (a *app) copyTargets(ctx context.Context, only string) ([]sidecar.CopyTarget, error) {
	if only != "" {
		if _, err := a.copyTarget(only); err != nil {
			return nil, &usageError{fmt.Errorf("--to: %w", err)}
		}
	}
	var out []sidecar.CopyTarget
	for _, t := range a.cfg.Copy {
		if only != "" && t.Name != only {
			continue
		}
		if err := a.claimCopyTarget(ctx, t.Name); err != nil {
			return nil, err
		}
		store, err := copyStore(ctx, t)
		if err != nil {
			return nil, err
		}
		target := sidecar.CopyTarget{Name: t.Name, Store: store, Layout: a.copyLayout(t.Prefix),
			Transfer: s3.NewTransfer(a.store, store, a.cfg.SameStore(t)), BaseRef: copyClickHouseTarget(t).BaseRef}
		if t.Retention != nil && a.cluster == nil { // a cluster's: whole sets (setsCopier)
			r := retentionOf(*t.Retention)
			target.Retention = &r
		}
		out = append(out, target)
	}
	return out, nil
}

func copyStore(ctx context.Context, t config.CopyTarget) (*s3.ObjectStore, error) {
	store, err := s3.New(ctx, s3.Config{Endpoint: t.Endpoint, Region: t.Region, Bucket: t.Bucket,
		AccessKey: t.AccessKey.Reveal(), SecretKey: t.SecretKey.Reveal()})
	if err != nil {
		return nil, fmt.Errorf("copy target %s: %w", t.Name, err)
	}
	return store, nil
}

// copyClickHouseTarget is how ClickHouse reaches the copy target.
func copyClickHouseTarget(t config.CopyTarget) clickhouse.S3Target {
	return clickhouse.S3Target{Endpoint: t.ClickHouseS3Endpoint(), Bucket: t.Bucket, AccessKey: t.AccessKey.Reveal(),
		SecretKey: t.SecretKey.Reveal(), NamedCollection: t.NamedCollection}
}

// copyKeys are the [[copy]] targets' keys: `clickvault status` lists the
// RESTOREs read from them, whose texts may quote them.
func copyKeys(cfg config.Config) []string {
	var out []string
	for _, t := range cfg.Copy {
		out = append(out, t.AccessKey.Reveal(), t.SecretKey.Reveal())
	}
	return out
}

// openCopy is the [[copy]] target named name and a client of its bucket.
func openCopy(ctx context.Context, a *app, name string) (config.CopyTarget, *s3.ObjectStore, error) {
	t, err := a.copyTarget(name)
	if err != nil {
		return t, nil, err
	}
	store, err := copyStore(ctx, t)
	return t, store, err
}

// copyTarget is the [[copy]] target named name, or the error that names
// the targets there are (sidecar.UnknownCopyTargetError).
func (a *app) copyTarget(name string) (config.CopyTarget, error) {
	t, ok := a.cfg.CopyTarget(name)
	if !ok {
		return t, &sidecar.UnknownCopyTargetError{Name: name, Targets: a.cfg.CopyNames()}
	}
	return t, nil
}

// serviceAt is the engine on the copy target named name, as on the
// primary: its bucket and prefix, and ClickHouse reading backups from it.
// "" is the primary's.
func (a *app) serviceAt(ctx context.Context, name string) (*sidecar.Service, error) {
	if name == "" {
		return a.service, nil
	}
	t, err := a.copyTarget(name)
	if err != nil {
		return nil, &usageError{err}
	}
	store, err := copyStore(ctx, t)
	if err != nil {
		return nil, err
	}
	return a.copyService(t, store, a.copyLayout(t.Prefix)), nil
}

// copyService is the engine on the chains of layout in copy target t's
// bucket (store), ClickHouse reading backups from it.
func (a *app) copyService(t config.CopyTarget, store *s3.ObjectStore, layout coord.Layout) *sidecar.Service {
	db := a.db.ForTarget(copyClickHouseTarget(t))
	opts := serviceOptions(a.cfg, a.instance, store)
	if t.Retention != nil { // the target's own rules, for its cleanup
		opts.Retention = retentionOf(*t.Retention)
	}
	notifier := copyNotifier{inner: a.notifier, copy: t.Name}
	return sidecar.NewService(store, db.Ports(), notifier, layout, opts, a.logger.With("copy", t.Name))
}

// lazyCopyReaders are the [[copy]] targets as sources of restores and
// verifies (sidecar.CopyReaders): each target's engine is made once, when
// first asked for.
type lazyCopyReaders struct {
	a    *app
	mu   sync.Mutex
	made map[string]*sidecar.Service
}

// copyReaders are the copy targets to read from, nil when there are none.
func (a *app) copyReaders() sidecar.CopyReaders {
	if len(a.cfg.Copy) == 0 {
		return nil
	}
	return &lazyCopyReaders{a: a, made: map[string]*sidecar.Service{}}
}

func (c *lazyCopyReaders) Copies() []string { return c.a.cfg.CopyNames() }

func (c *lazyCopyReaders) Copy(ctx context.Context, name string) (*sidecar.Service, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if svc, ok := c.made[name]; ok {
		return svc, nil
	}
	svc, err := c.a.serviceAt(ctx, name)
	if err != nil {
		return nil, err
	}
	c.made[name] = svc
	return svc, nil
}

// copyNotifier names the copy target in the events of its engine.
type copyNotifier struct {
	inner sidecar.Notifier
	copy  string
}

func (n copyNotifier) Notify(ctx context.Context, e sidecar.Event) error {
	e.Copy = n.copy
	return n.inner.Notify(ctx, e)
}

// claimCopyTarget probes a copy target's conditional writes and records
// this deployment as the owner of its prefix, as for the primary's, before
// anything writes there: two deployments copying to one place would each
// restore, count and clean up the other's backups. A target another
// deployment owns, or one that ignores conditional writes, is refused; one
// that cannot be reached now is left to the round, which tries again.
func (a *app) claimCopyTarget(ctx context.Context, name string) error {
	svc, err := a.serviceAt(ctx, name)
	if err != nil {
		return err
	}
	within, cancel := context.WithTimeout(ctx, copySweepWithin) // a silent target delays start by no more
	defer cancel()
	err = svc.ProbeAndClaim(within)
	switch {
	case errors.Is(err, coord.ErrOtherDeployment), errors.Is(err, coord.ErrNoConditionalWrites):
		return fmt.Errorf("copy target %s: %w", name, err)
	case err != nil:
		a.logger.Warn("probe a copy target; a copy round tries again", "copy", name, "err", err)
	}
	return nil
}

// sweepCopies sweeps what killed verifies and replaces that read a copy
// target left: their work records are in the target's bucket. Each target
// gets copySweepWithin: a target down at start delays serving by no more,
// and what it left is swept at the next start.
func (a *app) sweepCopies(ctx context.Context) {
	for _, name := range a.cfg.CopyNames() {
		svc, err := a.serviceAt(ctx, name)
		if err != nil {
			a.logger.Warn("open a copy target to sweep what killed restores from it left", "copy", name, "err", err)
			continue
		}
		within, cancel := context.WithTimeout(ctx, copySweepWithin)
		svc.SweepLeftovers(within)
		cancel()
	}
}

// copySweepWithin bounds the start-up sweep, and the probe, of one copy
// target.
const copySweepWithin = time.Minute

func copyCommand(run runner) *cobra.Command {
	var to, database string
	cmd := &cobra.Command{Use: "copy", Short: "Copy every completed backup not yet copied to the [[copy]] targets; exit 1 if one is left"}
	cmd.Flags().StringVar(&to, "to", "", "copy only to this target (default: every [[copy]] target)")
	cmd.Flags().StringVar(&database, "database", "", "copy only this database's backups")
	cmd.RunE = run(func(ctx context.Context, a *app) error {
		if len(a.cfg.Copy) == 0 {
			return &usageError{errors.New("no [[copy]] target in the configuration (docs/configuration.md#copy-targets)")}
		}
		dbs, err := a.databases(database)
		if err != nil {
			return err
		}
		targets, err := a.copyTargets(ctx, to)
		if err != nil {
			return err
		}
		var sets *cluster.Coordinator // on a cluster node, the sets' records follow its shard's backups
		if a.cluster != nil {
			sets, _ = a.sets(nil, 1)
		}
		copier := a.setsCopierOf(sets, targets)
		var failed []error
		p := &printer{w: a.stdout}
		for _, t := range targets {
			for _, db := range dbs {
				rep, err := copier.Copy(ctx, t, db)
				if err != nil {
					failed = append(failed, fmt.Errorf("copy of %s to %s: %w", db, t.Name, err))
				}
				printCopy(p, rep)
			}
		}
		return errors.Join(append(failed, p.err)...)
	})
	return cmd
}

func printCopy(p *printer, rep sidecar.CopyReport) {
	p.printf("%s to %s: %d backups copied (%d objects sent, %s; %d objects already there), %d copied before, %d left\n",
		rep.Database, rep.Target, len(rep.Copied), rep.Sent, model.FormatBytes(rep.Bytes), rep.Skipped, rep.Already, len(rep.Pending))
}

// copyAfterBackup copies the databases just backed up to every target. A
// copy that fails is logged: the backup is made whatever becomes of its
// copies, and the next backup or `clickvault copy` tries again.
func (a *app) copyAfterBackup(ctx context.Context, dbs []string) {
	if len(a.cfg.Copy) == 0 || len(dbs) == 0 {
		return
	}
	targets, err := a.copyTargets(ctx, "")
	if err != nil {
		a.logger.Warn("copy the backups: the targets cannot be reached; the next backup or `clickvault copy` tries again", "err", err)
		return
	}
	for _, t := range targets {
		for _, db := range dbs {
			rep, err := a.service.Copy(ctx, t, db)
			if err != nil {
				a.logger.Warn("copy the backups; the next backup or `clickvault copy` tries again", "target", t.Name, "database", db,
					"left", len(rep.Pending), "err", err)
				continue
			}
			a.logger.Info("backups copied", "target", t.Name, "database", db, "backups", len(rep.Copied), "objects_sent", rep.Sent,
				"objects_already_there", rep.Skipped, "bytes", rep.Bytes)
		}
	}
}
