package coord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// A sidecar's name is stable across restarts, so a claim of its own name
// is either its own from before a restart (to be resumed) or a twin's: a
// second live sidecar given the same host name and listen address. Both
// read one control table and write one heartbeat object, so the name alone
// cannot tell them apart; the run each writes into its claims and its
// heartbeat can (Holder.Run, ProcessRun).
//
// Each run writes the heartbeat on condition that it is still the run's
// own last write (If-Match): a failed condition means another run of the
// name wrote it since, and a run that writes is alive. A claim of another
// run of this name is taken over only once this run has watched the
// heartbeat for a heartbeat's time to live from its first beat (whatever
// it found then: a twin starting at the same moment, or one whose clock
// differs, is seen by its writes, not by what it wrote), the claim's run
// was not seen writing within a time to live (nor a writer that could not
// be read), and nobody has written it since this run's own last beat. A
// live run beats at least once in a time to live, as other sidecars are
// judged by (instanceAlive); so a twin is seen even when one of its beats
// fails, and a run that stopped beside a live twin is seen gone. A claim's
// run not seen writing whose process the kernel shows gone from this
// machine (runGoneHere: a restart here) is taken over without the watch.

// ownRunWatch is how long a run watches the heartbeat from its first beat
// before it judges any other run of its name gone.
const ownRunWatch = HeartbeatTTL

// ownRuns is what this run knows of the other runs of its name. mu
// guards the fields and is never held across S3 calls; beating lets one
// beat at a time write the heartbeat, each waited for as long as its
// caller's context allows.
type ownRuns struct {
	beating chan struct{} // one slot: held by the beat in progress

	mu        sync.Mutex
	etag      string    // of this run's last heartbeat write; "" before its first
	watchTill time.Time // no other run is judged gone before then
	// seen are the other runs seen writing the heartbeat, with when last;
	// pruned after a time to live. Between two beats of this run only the
	// last writer is seen: two live runs of a name are told apart, a third
	// may hide behind another.
	seen map[string]time.Time
}

// Keys of ownRuns.seen besides runs: a heartbeat of no run (junk, or a
// sidecar of before runs were recorded, whose claims name none either),
// and one that could not be read.
const (
	runUnknown = "unknown"
	runUnread  = "\x00unread"
)

// sawWriter notes run writing the heartbeat now, and reports whether it
// is news (not seen within a time to live).
func (r *ownRuns) sawWriter(run string, now time.Time) (news bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, at := range r.seen {
		if now.Sub(at) >= HeartbeatTTL {
			delete(r.seen, k)
		}
	}
	_, known := r.seen[run]
	r.seen[run] = now
	return !known
}

// anySeen reports whether any other writer was seen within a time to
// live of now (r.mu held).
func (r *ownRuns) anySeen(now time.Time) bool {
	for run := range r.seen {
		if r.seenWithin(run, now) {
			return true
		}
	}
	return false
}

// seenWithin reports whether run was seen writing within a time to live
// of now (r.mu held).
func (r *ownRuns) seenWithin(run string, now time.Time) bool {
	at, ok := r.seen[run]
	return ok && now.Sub(at) < HeartbeatTTL
}

// OwnNameClaimError says a request's claim is held by another run of this
// sidecar's own name, which is not (yet) known to be gone: its run before
// a restart, or a live twin; looked at again at Until.
type OwnNameClaimError struct {
	Request, Run string
	// Twin: the claim's run was seen writing the heartbeat within its
	// time to live (that write read back; a writer that could not be read
	// keeps the claim waiting all the same, without this).
	Twin  bool
	Until time.Time
}

func (e *OwnNameClaimError) Error() string {
	if e.Twin {
		return fmt.Sprintf("request %s is claimed by another live sidecar with this sidecar's own name (run %s): "+
			"two sidecars share one name (host name and sidecar.listen); give each its own, or stop one", e.Request, e.Run)
	}
	return fmt.Sprintf("request %s is claimed by another run of this sidecar's name (run %s): its run before a restart, "+
		"or a second sidecar given the same name; looked at again at %s", e.Request, e.Run, e.Until.UTC().Format(time.RFC3339))
}

// Beat writes this sidecar's heartbeat, fresh for HeartbeatTTL, and notes
// another run of its name that wrote it since the last beat.
func (c *Claims) Beat(ctx context.Context) error {
	return c.beatUnless(ctx, false)
}

// beatFirst writes this run's first heartbeat unless it has: a run
// beats before it claims, so that another run of its name that finds its
// claim has seen it on the heartbeat first. It waits one beat's time at
// most, whatever its caller's context.
func (c *Claims) beatFirst(ctx context.Context) error {
	c.runs.mu.Lock()
	done := c.runs.etag != ""
	c.runs.mu.Unlock()
	if done {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, HeartbeatEvery)
	defer cancel()
	return c.beatUnless(ctx, true)
}

// beatUnless writes the heartbeat, one beat at a time; if onlyFirst, only
// when no beat of this run has been written yet.
func (c *Claims) beatUnless(ctx context.Context, onlyFirst bool) error {
	select {
	case c.runs.beating <- struct{}{}:
		defer func() { <-c.runs.beating }()
	case <-ctx.Done():
		return fmt.Errorf("write heartbeat: wait for the beat in progress: %w", context.Cause(ctx))
	}
	c.runs.mu.Lock()
	last := c.runs.etag
	c.runs.mu.Unlock()
	if onlyFirst && last != "" {
		return nil
	}
	etag, err := c.beat(ctx, last)
	if err != nil {
		return err
	}
	c.clock.tell(c.store, c.logger)
	touchMark()
	c.runs.mu.Lock()
	defer c.runs.mu.Unlock()
	if last == "" {
		c.runs.watchTill = c.now().Add(ownRunWatch)
	}
	c.runs.etag = etag
	return nil
}

// beat writes the heartbeat on condition that last (this run's last
// write; "" none) is still there, and returns its new ETag.
func (c *Claims) beat(ctx context.Context, last string) (string, error) {
	data, err := json.Marshal(heartbeat{Instance: c.instance, Run: c.run, ExpiresAt: c.now().Add(HeartbeatTTL).UTC()})
	if err != nil {
		return "", fmt.Errorf("encode heartbeat: %w", err)
	}
	key := c.layout.HeartbeatKey(c.instance)
	etag, err := c.store.Put(ctx, key, data, PutCondition{IfMatch: last})
	if ConditionLost(err) {
		if errors.Is(err, ErrPreconditionFailed) {
			c.noteOtherWriter(ctx, key)
		}
		etag, err = c.store.Put(ctx, key, data, PutCondition{}) // S3 answers If-Match on a deleted key 404
	}
	if err != nil {
		return "", fmt.Errorf("write heartbeat: %w", err)
	}
	return etag, nil
}

// noteOtherWriter reads who wrote the heartbeat since this run's last
// beat: another run of this name, which is alive and a twin. This run's
// own content under another ETag is its own write retried (the SDK
// resends a PUT whose answer was lost), and a heartbeat deleted since is
// nobody's. One that cannot be read may be a twin's: it counts as one
// seen, without naming it.
func (c *Claims) noteOtherWriter(ctx context.Context, key string) {
	data, _, err := c.store.Get(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return
	}
	var hb heartbeat
	if err == nil && json.Unmarshal(data, &hb) == nil && hb.Run == c.run {
		return
	}
	writer := runKey(hb.Run)
	if err != nil {
		writer = runUnread
	}
	news := c.runs.sawWriter(writer, c.now())
	switch {
	case err != nil:
		c.logger.Warn("the heartbeat was written by someone else since the last beat, and cannot be read: "+
			"claims of this sidecar's name wait one heartbeat's time to live", "instance", c.instance, "err", err)
	case news:
		c.logger.Error("another live sidecar with this sidecar's own name writes its heartbeat: two sidecars share "+
			"one name (host name and sidecar.listen); neither takes over the other's requests; give each its own name, "+
			"or stop one", "instance", c.instance, "run", c.run, "other_run", writer, "other_instance", hb.Instance)
	}
}

// runKey is the key of ownRuns.seen for a run named in a heartbeat or a
// claim.
func runKey(run string) string {
	if run == "" {
		return runUnknown
	}
	return run
}

// TwinSeen reports whether this run saw another run of its name write
// the heartbeat within its time to live: a live twin. A request answered
// without a claim (a rejection) is claimed first then, since twins share
// the one name that decides who answers it. Twins that have not yet seen
// each other (the first beat or two after one starts) may both answer one.
// A writer that could not be read counts: it may have been one.
func (c *Claims) TwinSeen() bool {
	c.runs.mu.Lock()
	defer c.runs.mu.Unlock()
	return c.runs.anySeen(c.now())
}

// ownRunGone reports (nil) that run, another run of this sidecar's name
// that holds a claim, is gone; else an *OwnNameClaimError for request. A
// run judged gone is remembered for its leases too (goneRuns).
// The heartbeat's ETag is read outside the lock and the beat slot, so a
// slow read never holds up a beat; a beat in between makes it differ,
// and the claim wait.
func (c *Claims) ownRunGone(ctx context.Context, request, run string) error {
	c.runs.mu.Lock()
	now, ours, watchTill := c.now(), c.runs.etag, c.runs.watchTill
	twin, unread := c.runs.seenWithin(runKey(run), now), c.runs.seenWithin(runUnread, now)
	alone := !c.runs.anySeen(now)
	c.runs.mu.Unlock()
	if twin || unread {
		return &OwnNameClaimError{Request: request, Run: run, Twin: twin, Until: now.Add(HeartbeatTTL / 2)}
	}
	if runGoneHere(run) { // seen writing by no beat, and its process is gone from this machine
		markGoneHere(run)
		return nil
	}
	if now.Before(watchTill) {
		return &OwnNameClaimError{Request: request, Run: run, Until: watchTill}
	}
	etag, err := c.store.ETag(ctx, c.layout.HeartbeatKey(c.instance))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("read heartbeat: %w", err)
	}
	if etag != ours { // written since this run's last beat: the next beat says by whom
		return &OwnNameClaimError{Request: request, Run: run, Until: now.Add(HeartbeatEvery)}
	}
	if run != "" && alone {
		// No other run wrote for a time to live (three beats): as sure as
		// the lease's own watch (watchForRenewal), so its leases are taken
		// back at once rather than watched 30 s more. Beside a live twin,
		// run could hide behind it (see ownRuns.seen): its leases are
		// watched.
		goneRuns.Store(run, time.Now())
	}
	return nil
}
