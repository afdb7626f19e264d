package sidecar

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Turns bounds the BACKUPs a round of several databases has in ClickHouse
// at once (backup.parallel_databases): a backup takes a turn once it is
// planned, right before it is named and sent, and gives it back when
// ClickHouse is done writing it, while the bookkeeping of the others
// (leases, catalogs, metadata, notifications) goes on beside them.
//
// A backup gives its turn back as soon as a poll sees its .backup object,
// which ClickHouse writes last, before closing the backup and saying it
// ended: the next BACKUP then does not wait for the read of system.backups
// that confirms the end, which costs the server tens of milliseconds at a
// thousand operations. The backup is "closing" until that read. A server
// with allow_concurrent_backups = false refuses a BACKUP sent while another
// is still closing (CONCURRENT_ACCESS_NOT_SUPPORTED, before it writes
// anything): such a BACKUP is sent again once the closing ones ended
// (waitClosed) and the server lists no BACKUP in progress (see
// backups.sendBackup). Such a server is then known (SQL cannot read the
// setting): from a refusal on, for serialMemory, each backup also holds
// the pool's one solo turn from before its BACKUP is sent until it ended,
// so the others wait rather than be refused in their turn. The zero Turns is no
// bound.
type Turns struct{ pool *turnPool }

// turnPool is the state Turns share: the turns, and the backups closing.
type turnPool struct {
	slots chan struct{} // one value per turn taken
	// solo is the one turn every backup holds while the pool is serial:
	// the server was seen to refuse a BACKUP beside another, at
	// refusedAt (unix nanoseconds; 0 never), less than serialMemory ago.
	solo      chan struct{}
	refusedAt atomic.Int64

	mu      sync.Mutex
	closing int           // backups whose turn was given back at their .backup object, not yet ended
	none    chan struct{} // closed when closing drops to zero; nil while it is zero
}

// NewTurns makes n turns (at least one).
func NewTurns(n int) Turns {
	return Turns{pool: &turnPool{slots: make(chan struct{}, max(n, 1)), solo: make(chan struct{}, 1)}}
}

// take waits for one of t; the zero Turns is no bound (a nil *heldTurn).
func (t Turns) take(ctx context.Context) (*heldTurn, error) {
	if t.pool == nil {
		return nil, nil
	}
	select {
	case t.pool.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a turn: %w", context.Cause(ctx))
	}
	h := &heldTurn{pool: t.pool}
	if err := h.soloIfSerial(ctx); err != nil {
		h.end()
		return nil, err
	}
	return h, nil
}

// soloIfSerial takes the solo turn if the pool is serial: when a turn is
// taken, and again right before a BACKUP is sent, since the pool may have
// learned between the two.
func (h *heldTurn) soloIfSerial(ctx context.Context) error {
	if h == nil || !h.pool.serial() {
		return nil
	}
	return h.goSolo(ctx)
}

// serialMemory is how long a refusal keeps the pool serial: an operator
// may turn allow_concurrent_backups on (and restart ClickHouse) while
// serve runs; a server still refusing costs one refusal an hour to be
// learned again.
var serialMemory = time.Hour

// serial reports whether the server refused a BACKUP beside another
// within serialMemory.
func (p *turnPool) serial() bool {
	at := p.refusedAt.Load()
	return at != 0 && time.Since(time.Unix(0, at)) < serialMemory
}

// learnSerial notes that the server refuses a BACKUP beside another, and
// reports whether this is news (the pool was not serial).
func (h *heldTurn) learnSerial() bool {
	if h == nil {
		return false
	}
	known := h.pool.serial()
	h.pool.refusedAt.Store(time.Now().UnixNano())
	return !known
}

// goSolo waits for the pool's solo turn, held until end.
func (h *heldTurn) goSolo(ctx context.Context) error {
	if h == nil || h.solo {
		return nil
	}
	select {
	case h.pool.solo <- struct{}{}:
		h.solo = true
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the server's one BACKUP at a time: %w", context.Cause(ctx))
	}
}

// heldTurn is one backup's turn, given back once whatever happens. Its
// methods do nothing on a nil *heldTurn (no bound).
type heldTurn struct {
	pool *turnPool
	// given and closing are guarded by pool.mu, as the pool's count of
	// closing backups they change with.
	given   bool // the turn was given back
	closing bool // given back at the .backup object; the backup has not ended
	solo    bool // holds the pool's solo turn (goSolo); only its own goroutine reads or sets it before end
}

// backupObjectSeen gives the turn back when the backup's .backup object is
// seen: the backup is closing until end.
func (h *heldTurn) backupObjectSeen() {
	if h == nil {
		return
	}
	h.pool.mu.Lock()
	defer h.pool.mu.Unlock()
	if h.given {
		return
	}
	// Counted closing before the turn is free: a backup that takes it and
	// is refused waits for this one too (waitClosed).
	h.closing = true
	if h.pool.closing++; h.pool.none == nil {
		h.pool.none = make(chan struct{})
	}
	h.give()
}

// end gives the turn back, if backupObjectSeen did not, and ends the backup's
// closing: ClickHouse ended the backup, or the wait for it gave up, or the
// backup never reached ClickHouse.
func (h *heldTurn) end() {
	if h == nil {
		return
	}
	h.pool.mu.Lock()
	defer h.pool.mu.Unlock()
	if !h.given {
		h.give()
	}
	if h.solo {
		h.solo = false
		<-h.pool.solo
	}
	if h.closing {
		h.closing = false
		if h.pool.closing--; h.pool.closing == 0 {
			close(h.pool.none)
			h.pool.none = nil
		}
	}
}

// give frees the turn (h.pool.mu held); the slot is there: h took it.
func (h *heldTurn) give() {
	h.given = true
	<-h.pool.slots
}

// waitClosed waits until no backup of these turns is closing.
func (h *heldTurn) waitClosed(ctx context.Context) error {
	if h == nil {
		return nil
	}
	h.pool.mu.Lock()
	none := h.pool.none
	h.pool.mu.Unlock()
	if none == nil {
		return nil
	}
	select {
	case <-none:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the backups closing: %w", context.Cause(ctx))
	}
}
