package main

import (
	"testing"
	"time"
)

// TestSidecarAnswersPromptly: with a 60 s poll interval, a request is
// picked up long before the next full read (the sidecar counts requests
// ten times per interval), and answered without waiting for a webhook that
// takes 20 s to answer, which still gets its event. No bound is a speed
// goal (that is the pickup benchmark's): the pickup bound is a third of
// the interval, and the answer is shown first by order, not by time.
func TestSidecarAnswersPromptly(t *testing.T) {
	h, _ := newSidecarHarness(t, 10, "poll_interval = \"60s\"\n")
	// A first request, answered, shows the start's full read is done: the
	// next comes a minute later, so only the count finds the second soon.
	first := h.request(h.as("alice"), "action, database", "'backup', 'shop'")
	h.waitState(first, 2*time.Minute, "succeeded")
	h.hook.slowDown(20 * time.Second)

	id := h.request(h.as("alice"), "action, database", "'backup', 'shop'")
	h.waitState(id, 20*time.Second, "running", "succeeded")
	st := h.waitState(id, time.Minute, "succeeded", "failed", "rejected")
	if st.state != "succeeded" {
		t.Fatalf("backup: %+v", st)
	}
	if n := h.hook.answeredCount("backup_completed"); n > 1 {
		t.Errorf("the webhook answered %d backup_completed notifications before the answer, want only the first request's: the answer waited for it", n)
	}
	deadline := time.Now().Add(time.Minute)
	for len(h.hook.received("backup_completed")) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the webhook never got the second backup_completed")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
