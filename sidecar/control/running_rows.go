package control

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"
)

// runningRows writes one request's rows while it runs (running, started,
// progress) in order and in the background, so the work they report on
// never waits for ClickHouse to store a row. Each row carries the time it
// was made and readers take a request's newest row by that time, so the
// answer, written without waiting for these, is the newest even if a row
// before it lands after it.
type runningRows struct {
	queue chan []LogEntry
	g     errgroup.Group
	once  sync.Once
}

// runningRowsQueued bounds the rows waiting to be written. A progress row
// that finds the queue full is dropped (a newer one follows); other rows
// wait for room.
const runningRowsQueued = 16

// startRunningRows starts r's writer; flush stops it. Once ctx ends, the
// rows still queued fail at once and the writer stops.
func (s *executor) startRunningRows(ctx context.Context, r Request) *runningRows {
	w := &runningRows{queue: make(chan []LogEntry, runningRowsQueued)}
	w.g.Go(func() error {
		for entries := range w.queue {
			if err := s.cp.AppendLog(ctx, entries...); err != nil && ctx.Err() == nil {
				s.logger.Error("record request state", "request", r.ID,
					"state", entries[len(entries)-1].State, "err", err)
			}
		}
		return nil
	})
	return w
}

// add queues rows to be written in one INSERT, waiting for room.
func (w *runningRows) add(entries ...LogEntry) { w.queue <- entries }

// progress queues a progress row if there is room; it never blocks.
func (w *runningRows) progress(e LogEntry) {
	select {
	case w.queue <- []LogEntry{e}:
	default:
	}
}

// flush waits until every queued row is written. No row may be added after;
// flushing again does nothing.
func (w *runningRows) flush() {
	w.once.Do(func() {
		close(w.queue)
		_ = w.g.Wait()
	})
}
