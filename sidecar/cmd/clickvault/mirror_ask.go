package main

import (
	"context"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// askMirror tells the sidecar serving this control plane that this run
// changed databases in the bucket (coord.MirrorAsks): it mirrors them into
// clickvault.backups within 30 of its polls (half a minute at the default
// poll_interval), where they showed at their
// next request or scheduled check (the status page, the age metric and
// SQL users saw a cron job's backups late, and its cleanups' deleted
// backups as completed). Bounded by its own 10 s, after ctx too: a run
// stopped after its work still asks. A failure is logged, never the run's
// outcome. A function: app has its 30 methods.
func askMirror(ctx context.Context, a *app, databases []string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := coord.AskMirror(ctx, a.store, a.layout.MirrorAsksKey(), databases, time.Now()); err != nil {
		a.logger.Warn("ask the sidecar to mirror this run's changes into its backups table; it mirrors them at their next request",
			"databases", len(databases), "err", err)
	}
}
