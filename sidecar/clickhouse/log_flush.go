package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/ch-go/proto"
)

const (
	// flushesPerID bounds the flushes of query_log made for one query id:
	// a fresh INSERT is confirmed at its first look (or, if its
	// QueryFinish was not yet queued for the log, at the next), while a
	// row that is never confirmed (its INSERT ran with log_queries = 0)
	// costs two flushes, not one per poll until confirm_wait.
	flushesPerID = 2
	// minFlushGap: flushes of one log are at least this far apart (a look
	// waits out the rest of the gap); each writes a small part to the log.
	minFlushGap = 100 * time.Millisecond
	// maxFlushTracked bounds the per-id records; past it they start over
	// (at worst a few more flushes).
	maxFlushTracked = 100000
	// flushWithin bounds one flush. A flush takes milliseconds, but a
	// server may not finish one at all: one whose log table cannot be
	// created waits its full 180 s (the test bed's engine restarted on its
	// old logs does: docs/testbed.md). A look does not wait for that.
	flushWithin = 5 * time.Second
)

// flushRunner runs a flush's statement (a *Database; a fake in unit tests).
type flushRunner interface {
	Exec(ctx context.Context, query string, params ...proto.Parameter) error
}

// errFlushTimedOut: the server did not finish a flush within flushWithin.
var errFlushTimedOut = errors.New("the server did not finish it within " + flushWithin.String())

// logFlusher runs SYSTEM FLUSH LOGS for one system log, one flush at a
// time and minFlushGap apart, each bounded by flushWithin.
type logFlusher struct {
	name string // query_log or query_views_log

	mu      sync.Mutex
	lastTry time.Time // the last flush tried; zero: none yet
}

// run flushes the log once the gap since the last flush has passed.
// Called with f.mu held.
func (f *logFlusher) run(ctx context.Context, db flushRunner) error {
	if wait := minFlushGap - time.Since(f.lastTry); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	f.lastTry = time.Now()
	bounded, cancel := context.WithTimeout(ctx, flushWithin)
	defer cancel()
	err := db.Exec(bounded, "SYSTEM FLUSH LOGS "+f.name)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case bounded.Err() != nil:
		err = errFlushTimedOut
	}
	return fmt.Errorf("flush system.%s: %w", f.name, err)
}

// queryLogFlusher flushes query_log for the ids a look asks about, each at
// most flushesPerID times, counted as tried: a row the log does not show
// stays unconfirmed, so a flush that fails costs time, never safety, and
// is not tried again on every poll (each one a server thread that waits).
type queryLogFlusher struct {
	logFlusher
	tries map[string]int
}

// flush flushes query_log if any of ids is owed a flush. Its error says the
// log may lag: the look goes on and reads what the log holds.
func (f *queryLogFlusher) flush(ctx context.Context, db flushRunner, ids []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var owed []string
	for _, id := range ids {
		if f.tries[id] < flushesPerID {
			owed = append(owed, id)
		}
	}
	if len(owed) == 0 {
		return nil
	}
	if f.tries == nil || len(f.tries)+len(owed) > maxFlushTracked {
		f.tries = map[string]int{}
	}
	for _, id := range owed {
		f.tries[id]++
	}
	return f.run(ctx, db)
}

// viewsLogFlusher flushes query_views_log for the queries that fired views
// and remembers which a flush that succeeded covered: only those may be
// judged on the views log, which is what keeps a materialized view's row
// from passing as a request. A query's view rows are queued for the log
// before its QueryFinish, so one flush after the query log showed that
// covers them. Each id is owed flushesPerID tries at most, as for the
// query log: an id no flush could cover (a log the server never finishes
// flushing) stays uncovered, and its row is rejected after confirm_wait,
// without a flush (and a server thread waiting on it) on every poll.
type viewsLogFlusher struct {
	logFlusher
	covered map[string]bool
	tries   map[string]int
}

// flush flushes query_views_log for the ids of fired not yet covered, or
// once in any case when the log was never flushed (a server makes a log's
// table at its first flush; until then the log looks absent).
func (f *viewsLogFlusher) flush(ctx context.Context, db flushRunner, fired []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var owed []string
	for _, id := range fired {
		if !f.covered[id] && f.tries[id] < flushesPerID {
			owed = append(owed, id)
		}
	}
	if len(owed) == 0 && !f.lastTry.IsZero() {
		return nil
	}
	if f.tries == nil || len(f.tries)+len(owed) > maxFlushTracked {
		f.tries = map[string]int{}
	}
	for _, id := range owed {
		f.tries[id]++
	}
	if err := f.run(ctx, db); err != nil {
		return err
	}
	if f.covered == nil || len(f.covered)+len(owed) > maxFlushTracked {
		f.covered = map[string]bool{}
	}
	for _, id := range owed {
		f.covered[id] = true
	}
	return nil
}

// isCovered says whether a flush that succeeded covered id.
func (f *viewsLogFlusher) isCovered(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.covered[id]
}
