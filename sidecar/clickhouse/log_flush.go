package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// The logs are flushed for a look only when it asks about a query id that
// has had fewer than flushesPerID flushes made for it: a fresh INSERT is
// confirmed at its first look (or, if its QueryFinish was not yet queued
// for the log, at the next), while a row that is never confirmed (its
// INSERT ran with log_queries = 0) costs two flushes, not one per poll
// until confirm_wait. Flushes are at least minFlushGap apart (a look
// waits out the rest of the gap), and each writes a small part to the logs.
const (
	flushesPerID = 2
	minFlushGap  = 100 * time.Millisecond
	// maxFlushTracked bounds the per-id counts; past it they start over
	// (at worst a few more flushes).
	maxFlushTracked = 100000
	// flushWithin bounds one flush. A flush takes milliseconds, but the
	// server may not finish one at all: after a restart, a flush of
	// query_views_log waits its full 180 s while nothing has been written
	// to that log since (checked on 26.7). A look does not wait for that;
	// it reads what the logs hold, which they write by themselves every
	// flush_interval_milliseconds (7.5 s by default).
	flushWithin = 5 * time.Second
)

// errFlushTimedOut: the server did not finish a flush within flushWithin.
var errFlushTimedOut = errors.New("the server did not finish it within " + flushWithin.String())

// logFlusher flushes one system log (SYSTEM FLUSH LOGS name) for the
// query ids a look asks about, each at most flushesPerID times.
type logFlusher struct {
	name string // query_log or query_views_log

	mu         sync.Mutex
	flushedAt  time.Time      // the last flush
	flushesFor map[string]int // flushes made for each query id looked at
}

// triedOnce says whether a flush of the log was tried.
func (f *logFlusher) triedOnce() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.flushedAt.IsZero()
}

// flush flushes the log if any of ids is owed a flush. Its error says the
// log may lag: a look goes on and reads what the log holds.
func (f *logFlusher) flush(ctx context.Context, db *Database, ids []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var owed []string
	for _, id := range ids {
		if f.flushesFor[id] < flushesPerID {
			owed = append(owed, id)
		}
	}
	if len(owed) == 0 {
		return nil
	}
	if wait := minFlushGap - time.Since(f.flushedAt); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	// Counted before it runs: a flush that does not finish is not tried
	// again on every poll, each one a server thread waiting out 180 s.
	f.flushedAt = time.Now()
	if f.flushesFor == nil || len(f.flushesFor)+len(owed) > maxFlushTracked {
		f.flushesFor = map[string]int{}
	}
	for _, id := range owed {
		f.flushesFor[id]++
	}
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
