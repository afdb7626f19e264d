package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar"
)

// queueSize bounds the events waiting to be sent. A receiver that is down
// long enough to fill it loses events, logged, rather than holding up
// backups: a failure takes the place of the oldest success waiting (a
// round of a thousand databases with on_success sends a thousand
// successes, and Slack takes about one a second); otherwise the newest
// event is the one refused.
const queueSize = 256

// drainFor is how long Run keeps sending queued events after shutdown.
const drainFor = 10 * time.Second

// errQueueFull is Notify's answer when no event could make room.
var errQueueFull = errors.New("notifications waiting")

// Queue sends notifications in the background, in order, so a slow or
// failing receiver (Slack retried for a minute, say) never delays the
// answer to a request. Notify never blocks; Run does the sending, and
// Close says that nothing more will be notified.
type Queue struct {
	next   sidecar.Notifier
	logger *slog.Logger

	mu      sync.Mutex
	waiting []sidecar.Event // oldest first, at most queueSize
	closed  bool
	wake    chan struct{} // holds one token when an event waits or the queue closed
}

var _ sidecar.Notifier = (*Queue)(nil)

// NewQueue puts a queue in front of next.
func NewQueue(next sidecar.Notifier, logger *slog.Logger) *Queue {
	return &Queue{next: next, logger: logger, wake: make(chan struct{}, 1)}
}

// Notify queues e. It fails only when the queue is full of events e may
// not take the place of, or closed.
func (q *Queue) Notify(_ context.Context, e sidecar.Event) error {
	q.mu.Lock()
	err := q.pushLocked(e)
	q.mu.Unlock()
	if err != nil {
		return fmt.Errorf("queue notification %s of %s: %w, dropped", e.Event, e.Database, err)
	}
	q.signal()
	return nil
}

func (q *Queue) pushLocked(e sidecar.Event) error {
	if q.closed {
		return errors.New("the queue is closed")
	}
	if len(q.waiting) >= queueSize {
		oldest := slices.IndexFunc(q.waiting, sidecar.Event.Succeeded)
		if e.Succeeded() || oldest < 0 {
			return fmt.Errorf("%d %w", queueSize, errQueueFull)
		}
		gone := q.waiting[oldest]
		q.waiting = slices.Delete(q.waiting, oldest, oldest+1)
		q.logger.Warn("notification dropped for a failure's: the queue is full", "event", gone.Event, "database", gone.Database,
			"waiting", queueSize)
	}
	q.waiting = append(q.waiting, e)
	return nil
}

func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default: // a token is there already
	}
}

// Close says nothing more will be notified: Run returns once it has sent
// what waits. Events notified after it are refused.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// pop takes the oldest event waiting; closed says whether the queue is
// closed (and, with no event, done).
func (q *Queue) pop() (e sidecar.Event, ok, closed bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiting) == 0 {
		return e, false, q.closed
	}
	e = q.waiting[0]
	q.waiting = slices.Delete(q.waiting, 0, 1)
	return e, true, q.closed
}

// Run sends queued events until the queue is closed and empty. After ctx
// ends it goes on sending what the stopping sidecar still notifies (the
// answers of requests that were running) until Close, for drainFor at
// most: a clean shutdown neither loses what it had promised nor hangs on
// a dead receiver. What is left then is logged, not sent.
func (q *Queue) Run(ctx context.Context) error {
	sendCtx, cutOff := context.WithCancel(context.WithoutCancel(ctx))
	var g errgroup.Group
	g.Go(func() error { // cuts sends off drainFor after ctx ends, or when Run returns
		select {
		case <-sendCtx.Done():
		case <-ctx.Done():
			select {
			case <-sendCtx.Done():
			case <-time.After(drainFor):
				cutOff()
			}
		}
		return nil
	})
	defer func() {
		cutOff() // ends the cut-off goroutine
		_ = g.Wait()
	}()
	for {
		e, ok, closed := q.pop()
		switch {
		case ok && sendCtx.Err() == nil:
			q.send(sendCtx, e)
			continue
		case ok:
			q.abandon(1)
			return nil
		case closed:
			return nil
		}
		select {
		case <-q.wake:
		case <-sendCtx.Done():
			q.abandon(0)
			return nil
		}
	}
}

// abandon logs the events left unsent at the cut-off (had of them taken
// off already), and refuses any more.
func (q *Queue) abandon(had int) {
	q.mu.Lock()
	left := had + len(q.waiting)
	q.waiting, q.closed = nil, true
	q.mu.Unlock()
	if left > 0 {
		q.logger.Warn("notifications not sent: the sidecar stopped", "count", left, "after", drainFor)
	}
}

func (q *Queue) send(ctx context.Context, e sidecar.Event) {
	if err := q.next.Notify(ctx, e); err != nil {
		q.logger.Warn("send notification", "event", e.Event, "database", e.Database, "err", err)
	}
}
