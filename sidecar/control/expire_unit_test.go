package control

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// expirySpy records the times ExpireDeleted was given.
type expirySpy struct {
	ControlPlane
	before chan time.Time
}

func (s expirySpy) ExpireDeleted(_ context.Context, before time.Time) error {
	select {
	case s.before <- before:
	default: // the test has seen enough
	}
	return nil
}

// TestDeletedRowsPastTheRetentionAreRemovedOnATimer: the runner removes
// the rows of backups and sets deleted a retention ago, first soon after
// its start and then again and again (the deleted rows stayed for good).
func TestDeletedRowsPastTheRetentionAreRemovedOnATimer(t *testing.T) {
	spy := expirySpy{before: make(chan time.Time, 8)}
	s := newUnitSidecar("a", nil, spy)
	ctx, cancel := context.WithCancel(context.Background())
	var g errgroup.Group
	g.Go(func() error { return expireLoop(ctx, s.base, time.Millisecond, time.Millisecond) })
	defer func() { cancel(); _ = g.Wait() }()
	for range 2 {
		select {
		case before := <-spy.before:
			if ago := time.Since(before); ago < s.base.opts.RequestRetention || ago > s.base.opts.RequestRetention+time.Minute {
				t.Fatalf("rows deleted before %s ago expired, want the requests' retention (%s)", ago.Round(time.Hour), s.base.opts.RequestRetention)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no expiry of deleted rows within 5 s")
		}
	}
}
