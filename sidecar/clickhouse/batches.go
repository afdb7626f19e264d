package clickhouse

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/clickvault/clickvault/sidecar"
)

// batches runs the calls made while one of its runs is in flight as one
// run right after it (a group commit): at most one run at a time, and the
// callers that came meanwhile share the next. A query of ClickHouse costs
// it a fixed amount whatever it carries — a read of system.backups fills
// a row for every operation since the server started, an INSERT makes a
// part, merged later — so four backups running at once, each polling and
// writing its rows, cost four times what one query with all of it costs.
// A caller alone waits for nothing: its run starts at once.
//
// Any caller of a batch may send it once the run before it is done. A
// caller waiting whose context ends returns at once, and the batch's run
// is cancelled only when every caller of it has gone: the items of one
// that left may still be sent with the others' (as a statement cancelled
// late may land), and those of a batch every caller left before it was
// sent are never sent. The caller sending a batch waits for its run, at
// most batchTimeout, as the others count on it.
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
	// guarded by batches.mu
	sent          bool
	callers, gone int
	ctx           context.Context // the run's: ends once every caller has gone
	cancel        context.CancelFunc
}

const (
	// batchTimeout bounds one run, which serves every caller in it, so no
	// one caller's deadline decides when it gives up (the answers' writes
	// are bounded the same).
	batchTimeout = 30 * time.Second
	// maxBatchItems bounds one run's items; the callers at once bound it
	// already (workers, the mirrors), this is a second fence.
	maxBatchItems = 1000
)

func newBatches[In, Out any](run func(ctx context.Context, items []In) (Out, error)) *batches[In, Out] {
	return &batches[In, Out]{run: run, inFlight: make(chan struct{}, 1)}
}

// do adds items to the next run and returns that run's outcome, or ctx's
// error once ctx ends.
func (b *batches[In, Out]) do(ctx context.Context, items ...In) (Out, error) {
	cur, err := b.join(ctx, items)
	if err != nil {
		var none Out
		return none, err
	}
	return cur.out, cur.err
}

// doOrAlone is do, and when ClickHouse refused a run that had other
// callers' items in it, one run of items alone (through the same one run
// at a time): only the caller whose item the server refuses fails. A run
// that failed otherwise (a lost connection, a timeout) is not sent again:
// it may have been stored, and a second INSERT would store it twice.
func (b *batches[In, Out]) doOrAlone(ctx context.Context, items ...In) (Out, error) {
	cur, err := b.join(ctx, items)
	var none Out
	switch {
	case err != nil:
		return none, err
	case cur.err != nil && errors.Is(cur.err, sidecar.ErrRefused) && len(cur.items) > len(items):
		select {
		case b.inFlight <- struct{}{}:
		case <-ctx.Done():
			return none, ctx.Err()
		}
		defer func() { <-b.inFlight }()
		ctx, cancel := context.WithTimeout(ctx, batchTimeout) // the gate is held: bounded like a batch
		defer cancel()
		return b.run(ctx, items)
	}
	return cur.out, cur.err
}

// join adds items to the next batch and returns it once its run is done,
// sending it itself if it gets the turn first; or ctx's error once ctx ends.
func (b *batches[In, Out]) join(ctx context.Context, items []In) (*batch[In, Out], error) {
	cur := b.enter(items)
	// Once, and done before this caller returns on its context's end: a
	// later caller must not join the batch it left.
	var once sync.Once
	leave := func() { once.Do(func() { b.leave(cur) }) }
	stop := context.AfterFunc(ctx, leave)
	defer stop()
	for {
		select { // an outcome that is there wins over a context that ended
		case <-cur.done:
			return cur, nil
		default:
		}
		select {
		case <-cur.done:
			return cur, nil
		case <-ctx.Done():
			leave()
			return nil, ctx.Err()
		case b.inFlight <- struct{}{}:
		}
		if ctx.Err() != nil { // the turn and the end came together
			<-b.inFlight
			leave()
			return nil, ctx.Err()
		}
		if b.claim(cur) {
			b.send(cur)
			<-b.inFlight
			return cur, nil
		}
		<-b.inFlight // another caller sent it: its done is closed now
	}
}

// enter adds items to the next batch, or to a new one when there is none
// or it is full.
func (b *batches[In, Out]) enter(items []In) *batch[In, Out] {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.next
	if cur == nil || len(cur.items) > 0 && len(cur.items)+len(items) > maxBatchItems {
		// A full batch stays with its callers, who send it.
		cur = &batch[In, Out]{done: make(chan struct{})}
		cur.ctx, cur.cancel = context.WithCancel(context.Background()) //nolint:gosec // G118: send cancels it, or leave once every caller has gone
		b.next = cur
	}
	cur.items = append(cur.items, items...)
	cur.callers++
	return cur
}

// leave notes that a caller of cur has gone; once all have, cur's run is
// cancelled, and a batch not yet sent is sent by no one.
func (b *batches[In, Out]) leave(cur *batch[In, Out]) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur.gone++
	if cur.gone < cur.callers {
		return
	}
	cur.cancel()
	if b.next == cur {
		b.next = nil
	}
}

// claim reports whether cur is this caller's to send (no one sent it yet),
// and takes it out of reach of later callers.
func (b *batches[In, Out]) claim(cur *batch[In, Out]) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cur.sent {
		return false
	}
	cur.sent = true
	if b.next == cur {
		b.next = nil
	}
	return true
}

func (b *batches[In, Out]) send(cur *batch[In, Out]) {
	defer close(cur.done)
	defer cur.cancel()
	ctx, cancel := context.WithTimeout(cur.ctx, batchTimeout)
	defer cancel()
	cur.out, cur.err = b.run(ctx, cur.items)
}
