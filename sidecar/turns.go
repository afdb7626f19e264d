package sidecar

import (
	"context"
	"fmt"
	"sync"
)

// Turns bounds the BACKUPs a round of several databases has in ClickHouse
// at once (backup.parallel_databases): a backup takes a turn once it is
// planned, right before it is named and sent, and gives it back when
// ClickHouse has ended it, while the bookkeeping of the others (leases,
// catalogs, metadata, notifications) goes on beside them.
//
// With several turns a backup gives its turn back as soon as a poll sees
// its .backup object, which ClickHouse writes last, before closing the
// backup and saying it ended: the next BACKUP then does not wait for the
// read of system.backups that confirms the end, which costs the server
// tens of milliseconds at a thousand operations. One turn is held until
// ClickHouse says the BACKUP ended: it is the setting for a server with
// allow_concurrent_backups = false, which refuses a BACKUP sent while the
// last one is still closing.
type Turns chan struct{}

// NewTurns makes n turns (at least one).
func NewTurns(n int) Turns { return make(Turns, max(n, 1)) }

// take waits for one of t; a nil t is no bound (a nil *heldTurn).
func (t Turns) take(ctx context.Context) (*heldTurn, error) {
	if t == nil {
		return nil, nil
	}
	select {
	case t <- struct{}{}:
		return &heldTurn{turns: t}, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a turn: %w", context.Cause(ctx))
	}
}

// heldTurn is one backup's turn, given back once whatever happens.
type heldTurn struct {
	turns Turns
	once  sync.Once
}

// written gives the turn back when the backup's .backup object is seen,
// if several turns are shared (see Turns).
func (h *heldTurn) written() {
	if h != nil && cap(h.turns) > 1 {
		h.end()
	}
}

// end gives the turn back: ClickHouse ended the backup, or the wait for it
// gave up, or the backup never reached ClickHouse.
func (h *heldTurn) end() {
	if h != nil {
		h.once.Do(func() { <-h.turns })
	}
}
