package control

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/clickvault/clickvault/sidecar"
)

// Copier copies a database's completed backups to a target (the engine's
// Service.Copy).
type Copier interface {
	Copy(ctx context.Context, t sidecar.CopyTarget, database string) (sidecar.CopyReport, error)
}

// CopyObserver is told the lag each round leaves (the metric).
type CopyObserver interface {
	CopyFinished(target, database string, newestPending time.Time)
}

// maxCopiedDatabases bounds the databases beyond the configured ones that
// copy rounds remember (those backed up by request).
const maxCopiedDatabases = 256

// Copies runs copy rounds in serve: one at start, one after each completed
// backup (Nudge), and one every Every, which retries what failed. A
// round copies every configured database, and every other one a backup
// completed for, to every target. A failed copy is logged and left for
// the next round; it never touches the backup's own outcome.
type Copies struct {
	copier    Copier
	targets   []sidecar.CopyTarget
	every     time.Duration
	observer  CopyObserver
	logger    *slog.Logger
	nudge     chan struct{}
	mu        sync.Mutex
	databases []string
	// copied is, per target and database, when the newest backup a round
	// left copied was taken: a round that cannot reach the target tells
	// the lag by it.
	copied map[[2]string]time.Time
	// changed is told the databases a round copied backups of (OnChange).
	changed func(database string)
}

// OnChange has fn told, after a round, each database it copied backups
// of: serve mirrors the backups table's copies then. Call it before Run.
func (c *Copies) OnChange(fn func(database string)) { c.changed = fn }

// NewCopies returns the rounds of copying databases to targets.
func NewCopies(copier Copier, targets []sidecar.CopyTarget, databases []string, every time.Duration,
	observer CopyObserver, logger *slog.Logger) *Copies {
	return &Copies{copier: copier, targets: targets, databases: slices.Clone(databases), every: every,
		observer: observer, logger: logger, nudge: make(chan struct{}, 1), copied: map[[2]string]time.Time{}}
}

// BackupCompleted asks for a round soon, with database among those copied.
// It never blocks: a round already asked for takes this one's backup too.
func (c *Copies) BackupCompleted(database string) {
	c.mu.Lock()
	if !slices.Contains(c.databases, database) && len(c.databases) < maxCopiedDatabases {
		c.databases = append(c.databases, database)
	}
	c.mu.Unlock()
	select {
	case c.nudge <- struct{}{}:
	default:
	}
}

// Run copies until ctx ends.
func (c *Copies) Run(ctx context.Context) error {
	if len(c.targets) == 0 {
		return nil
	}
	tick := time.NewTicker(c.every)
	defer tick.Stop()
	for {
		c.round(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-c.nudge:
		case <-tick.C:
		}
	}
}

func (c *Copies) round(ctx context.Context) {
	c.mu.Lock()
	databases := slices.Clone(c.databases)
	c.mu.Unlock()
	for _, t := range c.targets {
		for _, db := range databases {
			rep, err := c.copier.Copy(ctx, t, db)
			if ctx.Err() != nil {
				return
			}
			switch {
			case err != nil:
				c.logger.Warn("copy backups; the next round tries again", "target", t.Name, "database", db,
					"pending", len(rep.Pending), "err", err)
			case len(rep.Copied) > 0:
				c.logger.Info("backups copied", "target", t.Name, "database", db, "backups", len(rep.Copied),
					"objects_sent", rep.Sent, "objects_already_there", rep.Skipped, "bytes", rep.Bytes)
			}
			if len(rep.Copied) > 0 && c.changed != nil {
				c.changed(db)
			}
			c.observe(t.Name, db, rep, err)
		}
	}
}

// observe tells the observer the lag a round left: the newest backup (or,
// on a cluster node, stale set) it left pending; or, when it could not
// tell (the target unreachable), the primary's newest backup unless a
// round copied it before. A round that could not read the primary leaves
// the last lag standing.
func (c *Copies) observe(target, database string, rep sidecar.CopyReport, err error) {
	key := [2]string{target, database}
	switch {
	case err == nil: // pending only what no failure left: a cluster's set another shard's node has not copied
		c.copied[key] = rep.Newest
		c.observer.CopyFinished(target, database, rep.NewestPending)
	case len(rep.Pending) > 0 || !rep.NewestPending.IsZero():
		c.observer.CopyFinished(target, database, rep.NewestPending)
	case !rep.Newest.IsZero() && rep.Newest.After(c.copied[key]):
		c.observer.CopyFinished(target, database, rep.Newest)
	}
}
