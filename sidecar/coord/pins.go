package coord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"
)

// A pin keeps a backup, and every backup it is built on, from cleanup while
// an operation reads it: a restore, a verify, a check (and any future copy).
// It is one small object per operation (Layout.PinKey), saying what is
// pinned, by which action and request, on which host, since when, with a
// heartbeat renewed every PinHeartbeatEvery; it is deleted when the
// operation ends, whatever the outcome. A pin whose holder died stops
// protecting anything once its heartbeat is PinStaleAfter old, and the next
// cleanup removes it.
//
// A pin and a cleanup never miss each other. Cleanup lists the pins under
// the chain lease, after taking it; the pin holder, once its pin is written,
// reads the lease and waits while a cleanup holds it. S3 reads see every
// write that finished before them, so either the cleanup's lease came first
// (the holder waits for that cleanup and then chooses among what it left)
// or the pin did (the cleanup's LIST sees it). While its holder is still
// choosing (a restore "as of", the newest backup), a pin names no backup and
// keeps every backup of the database; it names the backup once chosen.

// Pin timing. Four missed heartbeats make a pin stale: one slow or failed
// PUT (S3's tail latency, a passing error) never drops the protection, and
// a crashed holder blocks deletion for at most about a minute.
const (
	PinHeartbeatEvery = 15 * time.Second
	PinStaleAfter     = 4 * PinHeartbeatEvery
)

// A cleanup reads the pins of a database once: one LIST of the pins folder,
// then each pin, at most pinReaders at once.
const (
	pinReaders = 16
	// maxPins bounds what one cleanup reads. Stale pins are removed by
	// every cleanup, so more live pins than this means something is wrong:
	// the cleanup then deletes nothing rather than guess.
	maxPins = 1000
)

// PinInfo is the content of a pin object.
type PinInfo struct {
	ID        string    `json:"id"`
	Database  string    `json:"database"`
	Backup    string    `json:"backup,omitempty"` // "" = every backup of the database
	Action    string    `json:"action"`
	RequestID string    `json:"request_id,omitempty"`
	Holder    string    `json:"holder"` // host and process, or the sidecar's stable name
	Since     time.Time `json:"since"`
	Heartbeat time.Time `json:"heartbeat"`
}

// Pin is a held pin. A nil *Pin (none could be written) is valid and does
// nothing.
type Pin struct{ kept *Kept[PinInfo] }

// TakePin pins every backup of database for action (narrow it with Narrow
// once the backup is chosen), waits until no cleanup holds the database's
// lease, and renews the pin until Release. A pin that cannot be written is
// logged and the operation goes on unpinned (nil): an operation that only
// reads (a restore on a bad day, with read-only keys) must not fail for
// want of a bookkeeping write; it then has today's exposure to a
// concurrent cleanup.
func (b *Bucket) TakePin(ctx context.Context, database, action, requestID string) (*Pin, error) {
	info := PinInfo{ID: uuid.NewString(), Database: database, Action: action,
		RequestID: requestID, Holder: b.holder.Name, Since: b.now().UTC()}
	k, err := keep(ctx, b, b.layout.PinKey(database, info.ID), "pin", info,
		func(p *PinInfo, at time.Time) { p.Heartbeat = at }, b.pinBeat)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("pin the backups of %s: %w", database, ctx.Err())
		}
		b.logger.Warn("pin the backups read; going on unpinned, a concurrent cleanup may delete them",
			"database", database, "action", action, "err", err)
		return nil, nil
	}
	p := &Pin{kept: k}
	if err := b.awaitCleanup(ctx, database); err != nil {
		p.Release(ctx)
		return nil, err
	}
	return p, nil
}

// Narrow names the backup the operation reads: from now on the pin keeps it
// and what it is built on, not the whole database. If the write fails the
// pin keeps every backup, which is more, never less.
func (p *Pin) Narrow(ctx context.Context, backup string) {
	if p == nil {
		return
	}
	if err := p.kept.Update(ctx, func(i *PinInfo) { i.Backup = backup }); err != nil && ctx.Err() == nil {
		p.kept.logger.Warn("narrow the pin; it keeps every backup of the database", "pin", p.kept.Key(), "err", err)
	}
}

// Release stops renewing the pin and deletes it.
func (p *Pin) Release(ctx context.Context) {
	if p == nil {
		return
	}
	p.kept.Delete(ctx)
}

// FoundPin is a pin as a cleanup read it.
type FoundPin struct {
	PinInfo
	Key string
	// Seen is the newest sign of life: the heartbeat the holder wrote or the
	// time S3 stored the object, whichever is later, so a holder whose clock
	// is behind is not taken for dead; on this host's clock (Stale's now).
	Seen time.Time
	// Unreadable says why the object's content could not be read; such a
	// pin keeps every backup of the database until it is stale.
	Unreadable string
}

// Stale reports whether the pin's holder has not renewed it for PinStaleAfter.
func (p FoundPin) Stale(now time.Time) bool { return now.Sub(p.Seen) > PinStaleAfter }

// Describe names a pin for people: "restore <request id> on <host> since <time>".
func (p FoundPin) Describe() string {
	if p.Unreadable != "" {
		return fmt.Sprintf("unreadable pin %s (%s)", p.Key, p.Unreadable)
	}
	who := p.Action
	if p.RequestID != "" {
		who += " " + p.RequestID
	}
	if p.Holder != "" {
		who += " on " + p.Holder
	}
	return fmt.Sprintf("%s since %s", who, p.Since.UTC().Format(time.RFC3339))
}

// ReadPins lists the database's pins and reads each, oldest first.
func (b *Bucket) ReadPins(ctx context.Context, database string) ([]FoundPin, error) {
	root := b.layout.PinsRoot(database)
	listing, err := b.store.List(ctx, root, true)
	if err != nil {
		return nil, fmt.Errorf("list the pins of %s: %w", database, err)
	}
	if n := len(listing.Objects); n > maxPins {
		return nil, fmt.Errorf("%s holds %d pins, more than the %d a cleanup reads; nothing is deleted until they are fewer",
			root, n, maxPins)
	}
	pins := make([]*FoundPin, len(listing.Objects))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(pinReaders)
	for i, o := range listing.Objects {
		g.Go(func() error {
			p, err := b.readPin(gctx, o)
			pins[i] = p
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []FoundPin
	for _, p := range pins {
		if p != nil {
			out = append(out, *p)
		}
	}
	slices.SortFunc(out, func(a, b FoundPin) int { return a.Since.Compare(b.Since) })
	return out, nil
}

// readPin reads one listed pin; nil if it was released since the LIST.
func (b *Bucket) readPin(ctx context.Context, o ObjectInfo) (*FoundPin, error) {
	data, _, err := b.store.Get(ctx, o.Key)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read pin %s: %w", o.Key, err)
	}
	p := &FoundPin{Key: o.Key, Seen: o.LastModified}
	if err := json.Unmarshal(data, &p.PinInfo); err != nil {
		p.Unreadable = "not a pin: " + err.Error()
		p.PinInfo = PinInfo{}
	}
	if p.Heartbeat.After(p.Seen) {
		p.Seen = p.Heartbeat
	}
	// Both are the store's clock; a cleanup judges pins beside backups'
	// names, which are this host's.
	p.Seen = p.Seen.Add(-StoreOffset(b.store))
	return p, nil
}

// RemoveStalePin deletes a pin a cleanup read, if it is stale, so the pins
// folder holds only live ones, and reports whether it did. A holder that
// is alive after all writes its pin again at its next heartbeat.
func (b *Bucket) RemoveStalePin(ctx context.Context, p FoundPin) (bool, error) {
	if !p.Stale(b.now().Add(-StoreOffset(b.store))) { // Seen is on this host's clock
		return false, nil
	}
	if err := b.store.Delete(ctx, []string{p.Key}); err != nil {
		return false, fmt.Errorf("remove stale pin %s: %w", p.Key, err)
	}
	return true, nil
}
