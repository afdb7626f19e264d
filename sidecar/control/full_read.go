package control

import (
	"context"
	"time"

	"golang.org/x/sync/errgroup"
)

// fullReads runs the full reads of pending requests beside the poll loop:
// after a flood a full read takes seconds (it joins every row of the
// retention with its answers), and the reads from the marks, which pick up
// new requests, do not wait for it. Its page is taken in by the poll loop,
// between two of its own reads.
type fullReads struct {
	g       errgroup.Group
	pages   chan fullPage
	running bool
	next    time.Time // when the next full read is due
}

type fullPage struct {
	page ReadPage
	err  error
}

// fullRetryAfter is when a full read that failed is tried again (ClickHouse
// was down, or refused it); meanwhile the reads from the marks go on.
const fullRetryAfter = 30 * time.Second

// start begins a full read if one is due and none is running.
func (f *fullReads) start(ctx context.Context, cp ControlPlane, now, since time.Time) {
	if f.running || now.Before(f.next) {
		return
	}
	if f.pages == nil {
		f.pages = make(chan fullPage, 1)
	}
	f.running, f.next = true, now.Add(fullRescanEvery)
	f.g.Go(func() error {
		page, err := cp.PendingAfter(ctx, ReadFrom{Since: since, Full: true})
		f.pages <- fullPage{page: page, err: err} // buffered: never blocks, one read at a time
		return nil
	})
}

// done returns the page of a full read that has ended, if one has.
func (f *fullReads) done(now time.Time) (fullPage, bool) {
	select {
	case p := <-f.pages:
		f.running = false
		if p.err != nil {
			f.next = now.Add(fullRetryAfter)
		}
		return p, true
	default:
		return fullPage{}, false
	}
}

// wait waits for a full read still running (its context is the loop's).
func (f *fullReads) wait() { _ = f.g.Wait() }
