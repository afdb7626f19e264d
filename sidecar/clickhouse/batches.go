package clickhouse

import (
	"context"
	"sync"
	"time"
)

// batches runs the calls made while one of its runs is in flight as one
// run right after it (a group commit): at most one run at a time, and the
// callers that came meanwhile share the next. A query of ClickHouse costs
// it a fixed amount whatever it carries — a read of system.backups fills
// a row for every operation since the server started, an INSERT makes a
// part, merged later — so four backups running at once, each polling and
// writing its rows, cost four times what one query with all of it costs.
// A caller alone waits for nothing: its run starts at once.
type batches[In, Out any] struct {
	run      func(ctx context.Context, items []In) (Out, error)
	mu       sync.Mutex
	next     *batch[In, Out] // collecting items, not yet sent
	inFlight chan struct{}   // holds a token while a run is in flight
}

// batch is the items of one run and, once done is closed, its outcome.
type batch[In, Out any] struct {
	items []In
	done  chan struct{}
	out   Out
	err   error
}

// batchTimeout bounds one run: it serves every caller in it, so no one
// caller's context decides when it gives up.
const batchTimeout = time.Minute

func newBatches[In, Out any](run func(ctx context.Context, items []In) (Out, error)) *batches[In, Out] {
	return &batches[In, Out]{run: run, inFlight: make(chan struct{}, 1)}
}

// do adds items to the next run and returns that run's outcome.
func (b *batches[In, Out]) do(ctx context.Context, items ...In) (Out, error) {
	cur := b.join(ctx, items)
	select {
	case <-cur.done:
		return cur.out, cur.err
	case <-ctx.Done():
		var none Out
		return none, ctx.Err()
	}
}

// doOrAlone is do, and when the run failed with other callers' items in
// it, one run of items alone: one caller's item the server refuses
// fails no other caller.
func (b *batches[In, Out]) doOrAlone(ctx context.Context, items ...In) (Out, error) {
	cur := b.join(ctx, items)
	select {
	case <-cur.done:
	case <-ctx.Done():
		var none Out
		return none, ctx.Err()
	}
	if cur.err != nil && len(cur.items) > len(items) {
		return b.run(ctx, items)
	}
	return cur.out, cur.err
}

// join adds items to the next batch and returns it. The batch's first
// caller sends it, once the run before it is done, even if its own ctx
// ends meanwhile: the others in it count on it.
func (b *batches[In, Out]) join(ctx context.Context, items []In) *batch[In, Out] {
	b.mu.Lock()
	cur, first := b.next, b.next == nil
	if first {
		cur = &batch[In, Out]{done: make(chan struct{})}
		b.next = cur
	}
	cur.items = append(cur.items, items...)
	b.mu.Unlock()
	if first {
		b.inFlight <- struct{}{}
		b.mu.Lock()
		b.next = nil // later callers start the next batch
		b.mu.Unlock()
		b.send(ctx, cur)
		<-b.inFlight
	}
	return cur
}

func (b *batches[In, Out]) send(ctx context.Context, cur *batch[In, Out]) {
	defer close(cur.done)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), batchTimeout)
	defer cancel()
	cur.out, cur.err = b.run(ctx, cur.items)
}
