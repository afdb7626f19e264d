package coord

import (
	"log/slog"
	"sync"
	"time"
)

// Leases, claims, heartbeats, pins, work records and sets' deadlines are
// times one sidecar writes and another judges. On each sidecar's own
// clock, one running 30 s ahead would find every live heartbeat expired and
// take over live work; one running behind would wait that much longer for
// a dead holder. So they are written and judged on the store's clock: this
// host's, moved by how far the store's answers (their Date) show it to be.
// Hosts whose clocks agree with the store's within ClockTolerance are not
// moved at all. Backups are still named on this host's clock, so what
// judges a store-clock time beside a backup's name (a pin's heartbeat in a
// cleanup's plan) moves it back onto this host's first.

// ClockTolerance is the gap between this host's clock and the store's
// that is left as it is: a Date counts whole seconds, and a round trip
// adds to it.
const ClockTolerance = 2 * time.Second

// ClockedStore is an ObjectStore that measures how far the store's clock
// is from this host's. It measures against the clock callers of
// OnStoreClock pass (time.Now in production; tests skew both alike), and
// keeps its measurement steady: it moves only when the store's answers
// agree on a change of more than a second.
type ClockedStore interface {
	// ClockOffset is the store's clock minus this host's; false until the
	// store's answers have agreed on it.
	ClockOffset() (time.Duration, bool)
}

// StoreOffset is what to add to this host's clock to read the store's: 0
// within ClockTolerance, before the store has answered, or for a store
// that does not measure it (the in-memory one shares this host's clock).
func StoreOffset(store ObjectStore) time.Duration {
	cs, ok := store.(ClockedStore)
	if !ok {
		return 0
	}
	off, known := cs.ClockOffset()
	if !known || (off < ClockTolerance && off > -ClockTolerance) {
		return 0
	}
	return off
}

// OnStoreClock is now read on store's clock (StoreOffset, looked up at
// every call: the offset is learnt from answers and may change).
func OnStoreClock(store ObjectStore, now func() time.Time) func() time.Time {
	return func() time.Time { return now().Add(StoreOffset(store)) }
}

// clockTeller tells the log when the offset this host's clock is read at
// changes: a host whose clock is off names its backups by it still, and
// its operator needs to hear of it.
type clockTeller struct {
	mu   sync.Mutex
	told time.Duration
}

func (t *clockTeller) tell(store ObjectStore, logger *slog.Logger) {
	off := StoreOffset(store)
	t.mu.Lock()
	defer t.mu.Unlock()
	if (off - t.told).Abs() < ClockTolerance {
		return
	}
	t.told = off
	if off == 0 {
		logger.Info("this host's clock agrees with the store's again")
		return
	}
	logger.Warn("this host's clock is off from the store's (the Date of its answers): leases, claims, heartbeats "+
		"and sets are judged on the store's clock, but backups are still named by this host's; set it right (NTP)",
		"store_clock_minus_host_clock", off.Round(100*time.Millisecond).String())
}
