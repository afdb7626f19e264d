package notify_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/hooks/notify"
	"github.com/clickvault/clickvault/sidecar"
)

// slowNotifier takes a while per event and records their order.
type slowNotifier struct {
	mu   sync.Mutex
	got  []string
	wait time.Duration
}

func (s *slowNotifier) Notify(ctx context.Context, e sidecar.Event) error {
	time.Sleep(s.wait)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, e.Backup)
	return nil
}

func (s *slowNotifier) sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

// A slow receiver must not hold up the caller, events keep their order,
// and what is queued at shutdown is still sent.
func TestQueueSendsInOrderWithoutBlockingAndDrainsOnShutdown(t *testing.T) {
	slow := &slowNotifier{wait: 50 * time.Millisecond}
	q := notify.NewQueue(slow, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	var g errgroup.Group
	g.Go(func() error { return q.Run(ctx) })
	start := time.Now()
	for _, name := range []string{"a", "b", "c", "d"} {
		if err := q.Notify(ctx, sidecar.Event{Event: "backup_completed", Backup: name}); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took > 40*time.Millisecond {
		t.Fatalf("Notify blocked for %v behind a slow receiver", took)
	}
	cancel() // shutdown with events still queued
	// A request still running at shutdown answers, and notifies, after it.
	if err := q.Notify(ctx, sidecar.Event{Event: "backup_failed", Backup: "e", Error: "disk full"}); err != nil {
		t.Fatalf("a notification after shutdown began, before Close: %v", err)
	}
	q.Close()
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := slow.sent(); strings.Join(got, " ") != "a b c d e" {
		t.Fatalf("sent %v, want a b c d e in order", got)
	}
	if err := q.Notify(ctx, sidecar.Event{Event: "backup_completed", Backup: "f"}); err == nil {
		t.Fatal("a notification after Close was queued, and would never be sent")
	}
}

// A full queue refuses with an error naming the event, instead of blocking.
func TestQueueFullRefuses(t *testing.T) {
	q := notify.NewQueue(&slowNotifier{}, slog.New(slog.DiscardHandler)) // never run
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = q.Notify(context.Background(), sidecar.Event{Event: "backup_failed", Database: "shop"})
	}
	if err == nil {
		t.Fatal("a queue nobody drains accepted 1000 events")
	}
	t.Log(err)
}

// The queue in front of the real dispatcher delivers to a webhook.
func TestQueueDeliversThroughDispatcher(t *testing.T) {
	rec := &receiver{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	d := notify.New([]notify.Target{{Name: "webhook #1", URL: srv.URL}}, true, true)
	q := notify.NewQueue(d, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	var g errgroup.Group
	g.Go(func() error { return q.Run(ctx) })
	if err := q.Notify(ctx, failed); err != nil {
		t.Fatal(err)
	}
	cancel()
	q.Close()
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.bodies) != 1 {
		t.Fatalf("webhook got %d bodies, want 1", len(rec.bodies))
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// TestAFailureIsNotDroppedBehindSuccesses (issue 27): a round of a
// thousand databases with on_success fills the queue with successes
// faster than Slack takes them; a failure then takes the place of the
// oldest success, and every event is sent in the order it came.
func TestAFailureIsNotDroppedBehindSuccesses(t *testing.T) {
	slow := &slowNotifier{}
	q := notify.NewQueue(slow, slog.New(slog.DiscardHandler))
	var refused int
	for i := range 300 {
		if q.Notify(context.Background(), sidecar.Event{Event: "backup_completed", Backup: fmt.Sprint("ok-", i)}) != nil {
			refused++
		}
	}
	if refused != 300-256 {
		t.Fatalf("%d of 300 successes refused, want those past the 256 the queue holds", refused)
	}
	if err := q.Notify(context.Background(), sidecar.Event{Event: "backup_failed", Backup: "failed", Error: "disk full"}); err != nil {
		t.Fatalf("a failure behind a full queue of successes: %v, want it queued", err)
	}
	var g errgroup.Group
	g.Go(func() error { return q.Run(context.Background()) })
	q.Close()
	_ = g.Wait()
	got := slow.sent()
	if len(got) != 256 || got[0] != "ok-1" || got[254] != "ok-255" || got[255] != "failed" {
		t.Fatalf("sent %d: first %q, last %q; want ok-1 … ok-255, then the failure (ok-0 gave it its place)", len(got), got[0], got[len(got)-1])
	}
}
