package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/clickvault/clickvault/hooks/notify"
	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/clickhouse"
	"github.com/clickvault/clickvault/sidecar/config"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
	"github.com/clickvault/clickvault/sidecar/s3"
)

// app is one run of the CLI: configuration, adapters and the service.
type app struct {
	cfg      config.Config
	instance coord.Holder // who holds leases: this process, or a sidecar's stable name
	layout   coord.Layout // where everything is in the bucket
	logger   *slog.Logger
	stdout   io.Writer
	stderr   io.Writer
	store    *s3.ObjectStore
	db       *clickhouse.Database
	notifier *notify.Dispatcher
	service  *sidecar.Service
	cluster  *clusterNode // this node's place in a cluster; nil on a single server
	// queue, set by serve, sends notifications from a queue; every
	// service made after it sends there.
	queue sidecar.Notifier
}

// loadConfig reads the configuration; a bad one is a usage error (exit 2).
func loadConfig(path string, explicit bool, environ func() []string) (config.Config, error) {
	cfg, err := config.Load(path, !explicit, environ)
	if err != nil {
		return config.Config{}, &usageError{fmt.Errorf("configuration: %w", err)}
	}
	return cfg, nil
}

// newApp connects the adapters. Output goes through writers that remove
// every configured secret, whatever tries to print one.
func newApp(ctx context.Context, cfg config.Config, level slog.Level, instance coord.Holder, stdout, stderr io.Writer) (*app, error) {
	secrets := cfg.Secrets()
	stdout, stderr = newRedactingWriter(stdout, secrets), newRedactingWriter(stderr, secrets)
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	store, err := s3.New(ctx, s3.Config{Endpoint: cfg.S3.Endpoint, Region: cfg.S3.Region, Bucket: cfg.S3.Bucket,
		AccessKey: cfg.S3.AccessKey.Reveal(), SecretKey: cfg.S3.SecretKey.Reveal()})
	if err != nil {
		return nil, err
	}
	db, err := clickhouse.Open(ctx, clickhouse.Config{
		Addr: cfg.ClickHouse.Addr, User: cfg.ClickHouse.User, Password: cfg.ClickHouse.Password.Reveal(),
		Secure: cfg.ClickHouse.Secure,
		// Each backup of a round, and each request serve runs, sends a
		// few queries at once (its checks, then its polls), beside the
		// sidecar's own.
		MaxConns: 8 + 2*max(cfg.Backup.ParallelDatabases, cfg.Sidecar.Workers),
		S3: clickhouse.S3Target{Endpoint: cfg.ClickHouseS3Endpoint(), Bucket: cfg.S3.Bucket,
			AccessKey: cfg.S3.AccessKey.Reveal(), SecretKey: cfg.S3.SecretKey.Reveal(), NamedCollection: cfg.S3.NamedCollection},
		Backup: clickhouse.BackupSettings{S3StorageClass: cfg.Backup.S3StorageClass, MaxBackupBandwidth: cfg.Backup.MaxBackupBandwidth,
			AllowS3NativeCopy: cfg.Backup.AllowS3NativeCopy, DeduplicateFiles: cfg.Backup.DeduplicateFiles},
		Secrets: copyKeys(cfg),
	})
	if err != nil {
		return nil, err
	}
	logger.Debug("configuration loaded", "config", cfg)
	notifier := newNotifier(cfg)
	layout := coord.Layout{Prefix: cfg.S3.Prefix}
	node, err := locateNode(ctx, cfg, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	if node != nil {
		// A shard's chains, lease and catalog are its own folder, request
		// claims and heartbeats the node's (its requests table's: no other
		// node's sidecar may answer its requests), schedule slots the
		// cluster's.
		layout = node.layout.Node(node.position.Shard, node.position.Replica)
	}
	a := &app{cfg: cfg, instance: instance, layout: layout, logger: logger, stdout: stdout, stderr: stderr, store: store, db: db,
		notifier: notifier, cluster: node}
	a.service = a.serviceOf(layout)
	return a, nil
}

// serviceOf is the engine on the chains of layout: this server's, or in a
// cluster one shard's (a set's restore and cleanup read and delete every
// shard's backups from any node).
func (a *app) serviceOf(layout coord.Layout) *sidecar.Service {
	var notifier sidecar.Notifier = a.notifier
	if a.queue != nil {
		notifier = a.queue
	}
	return sidecar.NewService(a.store, a.db.Ports(), notifier, layout, serviceOptions(a.cfg, a.instance, a.store), a.logger)
}

// serviceOptions are the engine's options of cfg, for the primary's
// Service and a copy's; lock reads the Object Lock of that one's bucket.
func serviceOptions(cfg config.Config, instance coord.Holder, lock coord.ObjectLock) sidecar.Options {
	return sidecar.Options{
		FullEvery:                  cfg.FullInterval(),
		FullWhenIncrementalExceeds: cfg.Backup.FullWhenIncrementalExceeds,
		Retention:                  retentionOf(cfg.Retention),
		Holder:                     instance,
		ControlDatabase:            cfg.ClickHouse.ControlDatabase,
		Deployment:                 cfg.S3.Deployment,
		ObjectLock:                 lock,
		FaultPoint:                 faultPoint,
	}
}

// retentionOf is the engine's form of retention rules.
func retentionOf(r config.Retention) model.Retention {
	return model.Retention{KeepFullBackups: r.KeepFullBackups, KeepFor: dayDuration(r.KeepDays), KeepDaily: r.KeepDaily,
		KeepWeekly: r.KeepWeekly, KeepMonthly: r.KeepMonthly, KeepYearly: r.KeepYearly, MinAge: r.MinAgeDuration()}
}

func (a *app) close() { a.db.Close() }

// probeStore refuses a store that ignores S3 conditional writes and a
// prefix another deployment owns. A store that cannot be reached is not
// refused here: the command goes on, fails on S3 as it would have, and
// notifies.
func (a *app) probeStore(ctx context.Context) error {
	err := a.service.ProbeAndClaim(ctx)
	if errors.Is(err, coord.ErrNoConditionalWrites) || errors.Is(err, coord.ErrOtherDeployment) {
		return err
	}
	if err != nil {
		a.logger.Warn("could not probe the S3 store", "err", err)
	}
	return nil
}

func newNotifier(cfg config.Config) *notify.Dispatcher {
	var targets []notify.Target
	for i, p := range cfg.Notifications.Providers {
		t := notify.Target{Name: fmt.Sprintf("%s #%d", p.Type, i+1), Method: p.Method, Headers: map[string]string{}}
		for k, v := range p.Headers {
			t.Headers[k] = v.Reveal()
		}
		if p.Type == "slack" {
			t.URL, t.Slack = p.WebhookURL.Reveal(), true
		} else {
			t.URL = p.URL.Reveal()
		}
		targets = append(targets, t)
	}
	return notify.New(targets, cfg.Notifications.OnSuccess, cfg.Notifications.OnFailure)
}

// processHolder names this process as the holder of the leases, pins and
// work records a CLI run takes: host and process id.
func processHolder() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return fmt.Sprintf("clickvault@%s pid %d", host, os.Getpid())
}

// databases are the ones a command works on: the flag's, or the config's.
func (a *app) databases(flag string) ([]string, error) {
	if flag != "" {
		if err := model.ValidateIdentifier("database", flag); err != nil {
			return nil, &usageError{err}
		}
		return []string{flag}, nil
	}
	dbs := a.cfg.DatabaseList()
	if len(dbs) == 0 {
		return nil, &usageError{fmt.Errorf("no database: set clickhouse.database (or databases) or pass --database")}
	}
	return dbs, nil
}

// redactingWriter replaces secrets in everything written through it. slog
// writes a line per call, so a secret is never split across writes.
type redactingWriter struct {
	mu      sync.Mutex
	w       io.Writer
	secrets [][]byte
}

func newRedactingWriter(w io.Writer, secrets []string) *redactingWriter {
	r := &redactingWriter{w: w}
	for _, s := range secrets {
		if strings.TrimSpace(s) != "" {
			r.secrets = append(r.secrets, []byte(s))
		}
	}
	return r
}

func (r *redactingWriter) Write(p []byte) (int, error) {
	out := p
	for _, s := range r.secrets {
		if bytes.Contains(out, s) {
			out = bytes.ReplaceAll(out, s, []byte("[REDACTED]"))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
