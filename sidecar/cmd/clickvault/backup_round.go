package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

// backupRound backs up each request's database, with at most parallel
// BACKUPs in ClickHouse at once (what ClickHouse's pools and
// allow_concurrent_backups bound). Each backup takes its own lease, as one
// run per database would, and its bookkeeping (lease, catalog, metadata,
// notification) runs beside the BACKUPs of others: pipelined databases
// keep ClickHouse's slots busy. One database's failure does not stop the
// others. Each outcome is printed as it comes ("<db> … completed" or
// "<db> backup failed: …"), and the error names every database that
// failed with the first line of why (ClickHouse's code and message when
// it refused). When ctx ends, no backup is started any more and those not
// started are named too.
func (a *app) backupRound(ctx context.Context, reqs []sidecar.BackupRequest, parallel int) (completed []string, err error) {
	parallel = max(parallel, 1)
	progress := newProgressPrinter(a.stderr, a.logger, "backup")
	defer progress.done()
	out := &roundPrinter{w: a.stdout, progress: progress}
	errs := make([]error, len(reqs))
	turns := sidecar.NewTurns(parallel)
	var g errgroup.Group
	g.SetLimit(pipelined(parallel))
	for i, req := range reqs {
		if ctx.Err() != nil {
			errs[i] = fmt.Errorf("not started: %w", context.Cause(ctx))
			continue
		}
		db := string(req.Database)
		req.Progress = progress.updateFor("backup " + db)
		req.Turns = turns
		// Go waits for a free goroutine; a goroutine never fails the
		// group, so the others go on.
		g.Go(func() error {
			b, err := a.service.Backup(ctx, req)
			errs[i] = out.outcome(db, b, err)
			return nil
		})
	}
	_ = g.Wait()
	for i, err := range errs {
		if err == nil {
			completed = append(completed, string(reqs[i].Database))
		}
	}
	return completed, roundError(reqs, errs)
}

// pipelined is how many databases a round works on at once for parallel
// BACKUPs in ClickHouse: one more than twice as many, so that while a
// database's BACKUP runs, the next one is planned and the last one's
// metadata, index and lease are written (each database then holds its
// lease a little longer than its BACKUP).
func pipelined(parallel int) int { return 2*parallel + 1 }

// roundError is nil when every database's backup completed, else one
// error naming each database that did not, with the first line of why.
func roundError(reqs []sidecar.BackupRequest, errs []error) error {
	var lines []string
	var failed []error
	for i, err := range errs {
		if err != nil {
			lines = append(lines, fmt.Sprintf("  %s: %s", reqs[i].Database, model.FirstLine(err.Error())))
			failed = append(failed, err)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	if len(reqs) == 1 {
		return fmt.Errorf("backup of %s: %w", reqs[0].Database, failed[0])
	}
	return &roundFailure{text: fmt.Sprintf("backup failed for %d of %d databases:\n%s", len(failed), len(reqs),
		strings.Join(lines, "\n")), errs: failed}
}

// roundFailure is a round's error: its text names every failed database;
// errors.Is and errors.As see each database's own error.
type roundFailure struct {
	text string
	errs []error
}

func (e *roundFailure) Error() string   { return e.text }
func (e *roundFailure) Unwrap() []error { return e.errs }

// roundPrinter writes one line per database as its backup ends; backups
// end on several goroutines, and a line is never cut by another.
type roundPrinter struct {
	mu       sync.Mutex
	w        io.Writer
	progress *progressPrinter // its line on a terminal is ended first
}

// outcome prints how db's backup ended and returns the database's error
// (the backup's, or the failure to print that it completed).
func (p *roundPrinter) outcome(db string, b model.Backup, err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.progress.done()
	if err != nil {
		// Stdout is the answer; a failed write of it changes nothing more.
		_, _ = fmt.Fprintf(p.w, "%s backup failed: %s\n", db, model.FirstLine(err.Error()))
		return err
	}
	why := ""
	if b.FullForced {
		why = "; a full, not an incremental: " + b.KindReason
	}
	if _, perr := fmt.Fprintf(p.w, "%s %s backup %s completed: %d files, %s stored, %s logical (chain %s%s)\n",
		db, b.Kind, b.Name, b.NumFiles, model.FormatBytes(b.StoredBytes()), model.FormatBytes(b.TotalSize), b.Chain, why); perr != nil {
		return fmt.Errorf("print the backup of %s: %w", db, perr)
	}
	return nil
}

// parallelDatabases is backup.parallel_databases (want), lowered to ClickHouse's
// backup_threads when that is smaller: a BACKUP past it waits in
// ClickHouse's queue while ClickVault holds its database's lease and
// counts it as running. A server that does not tell (the read failed, or
// no such setting) keeps the configured figure.
func parallelDatabases(ctx context.Context, want int, backupThreads func(context.Context) (int, error), logger *slog.Logger) int {
	if want <= 1 {
		return 1
	}
	// ClickHouse down at a start must not hold serve up: its backups
	// wait for it anyway.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	threads, err := backupThreads(ctx)
	switch {
	case err != nil:
		logger.Warn("could not read clickhouse's backup_threads; backup.parallel_databases is used as configured",
			"parallel_databases", want, "error", err)
	case threads > 0 && threads < want:
		logger.Warn("backup.parallel_databases is above clickhouse's backup_threads: at most backup_threads BACKUPs are sent at once",
			"parallel_databases", want, "backup_threads", threads)
		return threads
	}
	return want
}
