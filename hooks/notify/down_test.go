package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clickvault/clickvault/hooks/notify"
	"github.com/clickvault/clickvault/sidecar"
)

// TestADownReceiverCostsOneAttemptNotEvery: a receiver that failed every
// attempt of an event is down for a minute: successes are not sent to it
// (each took every attempt, holding a round's slot up to a minute), a
// failure gets one attempt; after the minute an event gets every attempt
// again, and an answer ends it.
func TestADownReceiverCostsOneAttemptNotEvery(t *testing.T) {
	hook := &receiver{codes: []int{503, 503, 503, 503}}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	d := notify.New([]notify.Target{{Name: "webhook #1", URL: hs.URL}}, true, true)
	d.SetRetry(3, time.Millisecond)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	notify.SetClock(d, func() time.Time { return now })
	ok := sidecar.Event{Event: "backup_completed", Database: "shop"}
	hits := func() int {
		hook.mu.Lock()
		defer hook.mu.Unlock()
		return len(hook.bodies)
	}
	ctx := context.Background()
	if err := d.Notify(ctx, ok); err == nil || hits() != 3 {
		t.Fatalf("first event to a failing receiver: %v after %d attempts, want an error after 3", err, hits())
	}
	for range 5 {
		if err := d.Notify(ctx, ok); err == nil || !strings.Contains(err.Error(), "webhook #1: not sent") {
			t.Fatalf("a success to a receiver down: %v", err)
		}
	}
	if err := d.Notify(ctx, failed); err == nil || hits() != 4 {
		t.Fatalf("a failure to a receiver down: %v, %d attempts in all; want one more", err, hits())
	}
	now = now.Add(61 * time.Second)
	if err := d.Notify(ctx, ok); err != nil || hits() != 5 {
		t.Fatalf("a minute later: %v, %d attempts in all; want it sent", err, hits())
	}
	hook.mu.Lock()
	hook.codes = []int{http.StatusServiceUnavailable}
	hook.mu.Unlock()
	if err := d.Notify(ctx, ok); err != nil || hits() != 7 {
		t.Fatalf("up again, one 503: %v, %d attempts in all; want it retried and sent", err, hits())
	}
}

// TestASendCutOffByTheSidecarSaysNothingOfTheReceiver: a send the
// sidecar's own shutdown cuts off (its drain's deadline) does not take the
// receiver as down: the events still queued are sent, not dropped.
func TestASendCutOffByTheSidecarSaysNothingOfTheReceiver(t *testing.T) {
	var calls atomic.Int32
	stall := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 { // the first answer comes after the sidecar gave up on it
			select {
			case <-stall:
			case <-r.Context().Done():
			}
		}
	}))
	defer hs.Close()
	defer close(stall) // before Close, which waits for the handler
	d := notify.New([]notify.Target{{Name: "webhook #1", URL: hs.URL}}, true, true)
	d.SetRetry(1, time.Millisecond)                         // a last try cut off (a down receiver's failure gets one)
	ctx, cancel := context.WithCancel(context.Background()) // as serve's drain cuts off at shutdown
	time.AfterFunc(50*time.Millisecond, cancel)
	if err := d.Notify(ctx, failed); err == nil {
		t.Fatal("a send cut off: no error")
	}
	if err := d.Notify(context.Background(), sidecar.Event{Event: "backup_completed", Database: "shop"}); err != nil {
		t.Fatalf("after a send the sidecar cut off, the next event: %v; want it sent (the receiver is not down)", err)
	}
}

// TestAHungOrBusyReceiver: a receiver that never answers, cut off by the
// event's own deadline (the CLI gives each a minute), is down: each event
// took that minute. One that answers 429 is busy, not down: the next
// events get every try.
func TestAHungOrBusyReceiver(t *testing.T) {
	stall := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	defer close(stall)
	busy := &receiver{codes: []int{429, 429, 429}}
	bs := httptest.NewServer(busy)
	defer bs.Close()
	ok := sidecar.Event{Event: "backup_completed", Database: "shop"}
	for _, c := range []struct {
		name, url string
		down      bool
	}{{"hung", hung.URL, true}, {"busy", bs.URL, false}} {
		d := notify.New([]notify.Target{{Name: "webhook #1", URL: c.url}}, true, true)
		d.SetRetry(3, time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		if err := d.Notify(ctx, failed); err == nil {
			t.Fatalf("%s: the first event: no error", c.name)
		}
		cancel()
		next, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := d.Notify(next, ok)
		cancel()
		if taken := err != nil && strings.Contains(err.Error(), "not sent"); taken != c.down {
			t.Errorf("%s receiver: the next event %v; want it taken as down: %v", c.name, err, c.down)
		}
	}
}
