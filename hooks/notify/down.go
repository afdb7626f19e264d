package notify

import (
	"errors"
	"sync"
	"time"
)

// downFor is how long a receiver that failed every attempt of an event is
// taken as down: successes are not sent to it, failures get one attempt.
// Each event to a dead receiver took its three attempts, up to a minute:
// a backup round of a thousand databases held its slots a minute each
// for Slack (a round of hours), and serve's queue filled. After downFor
// events get every attempt again, and any answer ends it.
const downFor = time.Minute

// errBusy marks a receiver's 429: it is up, and asks for fewer events.
var errBusy = errors.New("busy")

// errReceiverDown marks an event not sent because its receiver is down.
var errReceiverDown = errors.New("not sent: the receiver failed every attempt of an earlier event")

// downTargets remembers, by target name, until when each is taken as down.
type downTargets struct {
	mu    sync.Mutex
	until map[string]time.Time
	now   func() time.Time
}

func newDownTargets() *downTargets {
	return &downTargets{until: map[string]time.Time{}, now: time.Now}
}

// attempts is how many attempts an event gets on target (0: none), of
// most it would get.
func (d *downTargets) attempts(target string, succeeded bool, most int) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	until, down := d.until[target]
	switch {
	case !down || !d.now().Before(until):
		return most
	case succeeded:
		return 0
	}
	return 1
}

// sent records how sending to target ended: given up on a failure that
// says nothing answered (connection refused, timeouts, 408, 5xx: judged
// by the caller, which leaves out 429) takes it as down; any other
// answer says it is up.
func (d *downTargets) sent(target string, retryable bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil && retryable {
		d.until[target] = d.now().Add(downFor)
		return
	}
	delete(d.until, target)
}
