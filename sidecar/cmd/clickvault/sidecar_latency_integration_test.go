package main

import (
	"testing"
	"time"
)

// TestSidecarAnswersPromptly: with a 10 s poll interval and a webhook that
// takes 8 s to answer, a backup request is still picked up within a second
// (the sidecar counts requests ten times per interval) and answered without
// waiting for the webhook, which still gets its event.
func TestSidecarAnswersPromptly(t *testing.T) {
	h, _ := newSidecarHarness(t, 10, "poll_interval = \"10s\"\n")
	h.hook.slowDown(8 * time.Second)
	time.Sleep(1500 * time.Millisecond) // well past the first full read

	start := time.Now()
	id := h.request(h.as("alice"), "action, database", "'backup', 'shop'")
	h.waitState(id, time.Second, "running", "succeeded")
	st := h.waitState(id, 5*time.Second, "succeeded", "failed", "rejected")
	if st.state != "succeeded" {
		t.Fatalf("backup: %+v", st)
	}
	t.Logf("answered %v after the insert", time.Since(start).Round(time.Millisecond))
	deadline := time.Now().Add(15 * time.Second)
	for len(h.hook.received("backup_completed")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the webhook never got backup_completed")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
