package notify

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar"
)

// queueSize bounds the events waiting to be sent; a receiver that is down
// for long enough to fill it loses the newest events, logged, rather than
// holding up backups.
const queueSize = 256

// drainFor is how long Run keeps sending queued events after shutdown.
const drainFor = 10 * time.Second

// Queue sends notifications in the background, in order, so a slow or
// failing receiver (Slack retried for a minute, say) never delays the answer
// to a request. Notify never blocks; Run does the sending.
type Queue struct {
	next   sidecar.Notifier
	events chan sidecar.Event
	logger *slog.Logger
}

var _ sidecar.Notifier = (*Queue)(nil)

// NewQueue puts a queue in front of next.
func NewQueue(next sidecar.Notifier, logger *slog.Logger) *Queue {
	return &Queue{next: next, events: make(chan sidecar.Event, queueSize), logger: logger}
}

// Notify queues e. It fails only when the queue is full.
func (q *Queue) Notify(_ context.Context, e sidecar.Event) error {
	select {
	case q.events <- e:
		return nil
	default:
		return fmt.Errorf("queue notification %s of %s: %d are already waiting, dropped", e.Event, e.Database, queueSize)
	}
}

// Run sends queued events until ctx ends, then sends what is still queued.
// Sends are cut off drainFor after ctx ends, not at once, so a clean
// shutdown neither loses what it had promised nor hangs on a dead receiver.
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
		select {
		case e := <-q.events:
			q.send(sendCtx, e)
		case <-ctx.Done():
			q.drain(sendCtx)
			return nil
		}
	}
}

// drain sends every event still queued.
func (q *Queue) drain(ctx context.Context) {
	for {
		select {
		case e := <-q.events:
			q.send(ctx, e)
		default:
			return
		}
	}
}

func (q *Queue) send(ctx context.Context, e sidecar.Event) {
	if err := q.next.Notify(ctx, e); err != nil {
		q.logger.Warn("send notification", "event", e.Event, "database", e.Database, "err", err)
	}
}
