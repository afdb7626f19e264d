package sidecar

import (
	"testing"
	"time"
)

func TestPollWaitGrowsWithTheOperation(t *testing.T) {
	s := &engine{opts: Options{}.withDefaults()}
	for _, c := range []struct{ elapsed, want time.Duration }{
		{0, 5 * time.Millisecond},
		{10 * time.Millisecond, 5 * time.Millisecond},
		{40 * time.Millisecond, 10 * time.Millisecond},
		{400 * time.Millisecond, 100 * time.Millisecond},
		{2 * time.Second, 100 * time.Millisecond},
		{10 * time.Second, 200 * time.Millisecond},
		{time.Hour, time.Second},
	} {
		if got := s.pollWait(c.elapsed); got != c.want {
			t.Errorf("pollWait(%v) = %v, want %v", c.elapsed, got, c.want)
		}
	}
}
