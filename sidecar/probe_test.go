package sidecar

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// countingPlane is a ControlPlane whose request count a test sets.
type countingPlane struct {
	ControlPlane
	count uint64
	err   error
	calls int
}

func (c *countingPlane) RequestCount(context.Context) (uint64, error) {
	c.calls++
	return c.count, c.err
}

func TestRequestsProbe(t *testing.T) {
	cp := &countingPlane{count: 5}
	p := requestsProbe{cp: cp, logger: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	steps := []struct {
		count uint64
		want  bool
		why   string
	}{
		{5, true, "the first look always reads"},
		{5, false, "nothing inserted"},
		{6, true, "a request arrived"},
		{6, false, "nothing since"},
	}
	for _, s := range steps {
		cp.count = s.count
		if got := p.changed(ctx); got != s.want {
			t.Fatalf("count %d: changed = %v, want %v (%s)", s.count, got, s.want, s.why)
		}
	}
	// A failing count says "unchanged" and is not retried at once: the
	// sidecar then reads every poll interval instead.
	cp.err, cp.count = errors.New("no rights on requests"), 7
	calls := cp.calls
	if p.changed(ctx) || p.changed(ctx) {
		t.Fatal("a failed count reported a change")
	}
	if cp.calls != calls+1 {
		t.Fatalf("a failed count was retried %d times at once", cp.calls-calls-1)
	}
}

func TestProbePauseAfter(t *testing.T) {
	cases := []struct {
		poll, sinceArrival, want time.Duration
		why                      string
	}{
		{time.Second, time.Hour, 100 * time.Millisecond, "idle: ten probes per poll interval"},
		{time.Second, 5 * time.Second, 50 * time.Millisecond, "a request arrived lately: twice as often"},
		{time.Second, activeFor, 100 * time.Millisecond, "back to the idle rate after activeFor"},
		{100 * time.Millisecond, time.Second, minProbeEvery, "never below minProbeEvery"},
	}
	for _, c := range cases {
		if got := probePauseAfter(c.poll, c.sinceArrival); got != c.want {
			t.Errorf("probePauseAfter(%v, %v) = %v, want %v (%s)", c.poll, c.sinceArrival, got, c.want, c.why)
		}
	}
}
