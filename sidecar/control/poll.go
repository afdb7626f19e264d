package control

import (
	"context"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"
)

// DefaultRequestRetention is how long rows of requests and request_log are
// kept when the configuration does not say (the tables' TTL, and how far
// back the full rescan reads).
const DefaultRequestRetention = 90 * 24 * time.Hour

// fullRescanEvery bounds how long a request the reads from marks passed
// over can go unseen (a rejection whose write failed); between full reads,
// which run beside the poll loop (full_read.go), the sidecar reads on from
// where it stopped (read_place.go).
const fullRescanEvery = 5 * time.Minute

// probesPerPoll is how many times per poll interval the sidecar counts the
// requests (count() from part metadata, no rows read) and reads the table
// at once if the count changed. It brings pickup well under the interval
// without reading the control table more often when nothing arrives.
const probesPerPoll = 10

// activeProbesPerPoll is the rate for activeFor after a request arrived:
// requests come in runs (a script's backup then verify, someone trying
// things), and the next of a run is picked up sooner, while an idle
// sidecar keeps the lower rate and its small CPU cost.
const (
	activeProbesPerPoll = 20
	activeFor           = time.Minute
)

// minProbeEvery keeps a very short poll interval from turning the probe
// into a busy loop.
const minProbeEvery = 20 * time.Millisecond

// probePauseAfter is the pause after a probe, sinceArrival after the last
// request arrived.
func probePauseAfter(poll, sinceArrival time.Duration) time.Duration {
	if sinceArrival < activeFor {
		return max(poll/activeProbesPerPoll, minProbeEvery)
	}
	return max(poll/probesPerPoll, minProbeEvery)
}

func (s *Runner) pollLoop(ctx context.Context, workers *errgroup.Group) error {
	var lastRead, lastArrival time.Time
	var place readPlace
	var full fullReads
	defer full.wait()
	more := false // the last read was cut at its bounds and found new work: read again soon
	probe := requestsProbe{cp: s.base.cp, logger: s.base.logger}
	for {
		// No read goes further back than the rows' TTL.
		full.start(ctx, s.base.cp, s.base.now(), s.base.now().Add(-s.base.opts.RequestRetention))
		if p, ok := full.done(s.base.now()); ok {
			more = s.takeFullRead(ctx, &place, p) || more
		}
		// The count is taken before the read, so a request inserted in
		// between changes it again and is read on the next probe.
		firstLook := !probe.counted
		changed := probe.changed(ctx)
		if changed && !firstLook {
			lastArrival = s.base.now()
		}
		if changed || more || s.base.now().Sub(lastRead) >= s.base.opts.Poll {
			lastRead = s.base.now()
			more = s.readRequests(ctx, workers, &place)
		}
		pruneMemories(s)
		// The pause starts after the probe, not on a ticker: when a backup
		// keeps the server busy its answers are slow, and a ticker would
		// then send probes back to back and slow the backup down.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(probePauseAfter(s.base.opts.Poll, s.base.now().Sub(lastArrival))):
		}
	}
}

// readRequests reads the pending requests on from where the last read
// stopped (read_place.go) and dispatches each. It reports whether the read
// was cut at its bounds (PendingPerRead in all, or PendingPerRequester of
// one requester) and the next read will find something else: then more
// are waiting, and the next read comes soon.
func (s *Runner) readRequests(ctx context.Context, workers *errgroup.Group, place *readPlace) bool {
	place.settle(s.answeredHere)
	// Until its requests are handed on, no request answered since the read
	// began is forgotten (pruneMemoriesLocked): the page may show it
	// pending, and handed on it would run again.
	setReadingSince(s, s.base.now())
	defer setReadingSince(s, time.Time{})
	page, err := s.base.cp.PendingAfter(ctx, place.from(s.base.now().Add(-s.base.opts.RequestRetention), false))
	if err != nil {
		if ctx.Err() == nil {
			s.base.logger.Warn("read requests; will retry", "err", err)
		}
		return false
	}
	return s.takePage(ctx, workers, place, page)
}

// takeFullRead takes in a full read's page: the place starts over from it,
// and the next read, which comes at once, hands its requests on. They are
// not handed on from the page itself: a full read may take many seconds,
// and a request answered since it began is read answered by the next. A
// full read that failed is tried again after fullRetryAfter; the reads
// from the marks go on meanwhile (at a start, from the first row of the
// retention).
func (s *Runner) takeFullRead(ctx context.Context, place *readPlace, p fullPage) bool {
	if p.err != nil {
		if ctx.Err() == nil {
			s.base.logger.Warn("read every pending request; will retry", "in", fullRetryAfter, "err", p.err)
		}
		return false
	}
	place.settle(s.answeredHere)
	place.saw(p.page, true)
	return len(p.page.Pending) > 0
}

// takePage records a read's page in the place and dispatches its requests.
func (s *Runner) takePage(ctx context.Context, workers *errgroup.Group, place *readPlace, page ReadPage) bool {
	place.saw(page, false)
	cut, moving := page.cutAndMoving()
	fresh := false
	for _, p := range s.confirmNew(ctx, page.Pending) {
		if s.dispatch(ctx, workers, p) {
			fresh = true
		}
	}
	return cut && (fresh || moving)
}

// answeredHere reports whether this sidecar answered a request (or queued
// its rejection): the reads need not take it in again.
func (s *Runner) answeredHere(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ended := s.ended[id]
	return ended
}

// requestsProbe tells whether the number of requests changed since it last
// looked. If counting fails it says "unchanged" for a while, and the sidecar
// reads every poll interval meanwhile.
type requestsProbe struct {
	cp       ControlPlane
	logger   *slog.Logger
	count    uint64
	counted  bool
	pausedAt time.Time
}

// probePause is how long a failed probe is not retried.
const probePause = 10 * time.Second

func (p *requestsProbe) changed(ctx context.Context) bool {
	if !p.pausedAt.IsZero() && time.Since(p.pausedAt) < probePause {
		return false
	}
	n, err := p.cp.RequestCount(ctx)
	if err != nil {
		if ctx.Err() == nil {
			p.logger.Warn("count requests; reading them every poll_interval meanwhile", "err", err)
		}
		p.pausedAt = time.Now()
		return false
	}
	changed := !p.counted || n != p.count
	p.count, p.counted = n, true
	return changed
}
