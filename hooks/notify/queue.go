package notify

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar"
)

// queueSize bounds the events of each kind (failures, others) waiting to
// be sent; a receiver that is down for long enough to fill it loses the
// newest events, logged, rather than holding up backups.
const queueSize = 256

// drainFor is how long Run keeps sending queued events after shutdown.
const drainFor = 10 * time.Second

// Queue sends notifications in the background, so a slow or failing
// receiver (Slack retried for a minute, say) never delays the answer to a
// request. Notify never blocks; Run does the sending. Failures wait in a
// queue of their own and go first: a round of a thousand databases with
// on_success sends a thousand successes (Slack takes about one a
// second), and a failure must not be the event dropped behind them. Each
// kind keeps its order.
type Queue struct {
	next     sidecar.Notifier
	failures chan sidecar.Event
	others   chan sidecar.Event
	logger   *slog.Logger
}

var _ sidecar.Notifier = (*Queue)(nil)

// NewQueue puts a queue in front of next.
func NewQueue(next sidecar.Notifier, logger *slog.Logger) *Queue {
	return &Queue{next: next, failures: make(chan sidecar.Event, queueSize), others: make(chan sidecar.Event, queueSize), logger: logger}
}

// Notify queues e. It fails only when the queue of its kind is full.
func (q *Queue) Notify(_ context.Context, e sidecar.Event) error {
	lane := q.others
	if !e.Succeeded() {
		lane = q.failures
	}
	select {
	case lane <- e:
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
		select { // a failure first, whenever one waits
		case e := <-q.failures:
			q.send(sendCtx, e)
			continue
		default:
		}
		select {
		case e := <-q.failures:
			q.send(sendCtx, e)
		case e := <-q.others:
			q.send(sendCtx, e)
		case <-ctx.Done():
			q.drain(sendCtx)
			return nil
		}
	}
}

// drain sends every event still queued, failures first.
func (q *Queue) drain(ctx context.Context) {
	for _, lane := range []chan sidecar.Event{q.failures, q.others} {
		for len(lane) > 0 {
			q.send(ctx, <-lane)
		}
	}
}

func (q *Queue) send(ctx context.Context, e sidecar.Event) {
	if err := q.next.Notify(ctx, e); err != nil {
		q.logger.Warn("send notification", "event", e.Event, "database", e.Database, "err", err)
	}
}
