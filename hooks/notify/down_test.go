package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
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
