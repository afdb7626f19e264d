package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"
)

// A pin keeps a backup, and every backup it is built on, from cleanup while
// an operation reads it: a restore, a verify, a check (and any future copy).
// It is one small object per operation, {prefix}/{database}/.clickvault_pins/
// {pin id}.json (Layout.PinKey), saying what is pinned, by which action and
// request, on which host, since when, with a heartbeat renewed every
// PinHeartbeatEvery; it is deleted when the operation ends, whatever the
// outcome. A pin whose holder died stops protecting anything once its
// heartbeat is PinStaleAfter old, and the next cleanup removes it.
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

// pinHeartbeatEvery is PinHeartbeatEvery; tests shorten it.
var pinHeartbeatEvery = PinHeartbeatEvery

// Actions that pin what they read.
const (
	PinRestore = "restore"
	PinVerify  = "verify"
	PinCheck   = "check"
	PinCopy    = "copy"
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
type Pin struct {
	s    *Service
	key  string
	mu   sync.Mutex // serializes writes: an older content never overwrites a newer one
	info PinInfo
	stop context.CancelFunc
	g    *errgroup.Group
}

type requestIDKey struct{}

// WithRequestID names the request an operation runs for, for the pins it
// takes (verify and check have no request field of their own).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// TakePin pins every backup of database for action (narrow it with Narrow
// once the backup is chosen), waits until no cleanup holds the database's
// lease, and renews the pin until Release. requestID "" takes the one
// WithRequestID put in ctx. A pin that cannot be written is logged and the
// operation goes on unpinned: an operation that only reads (a restore on a
// bad day, with read-only keys) must not fail for want of a bookkeeping
// write; it then has today's exposure to a concurrent cleanup.
func (s *Service) TakePin(ctx context.Context, database, action, requestID string) (*Pin, error) {
	if requestID == "" {
		requestID = requestIDFrom(ctx)
	}
	p := &Pin{s: s, info: PinInfo{ID: uuid.NewString(), Database: database, Action: action,
		RequestID: requestID, Holder: s.opts.Owner.Name, Since: s.now().UTC()}}
	p.key = s.layout.PinKey(database, p.info.ID)
	if err := p.write(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("pin the backups of %s: %w", database, ctx.Err())
		}
		s.logger.Warn("pin the backups read; going on unpinned, a concurrent cleanup may delete them",
			"database", database, "action", action, "err", err)
		return nil, nil
	}
	if err := s.awaitCleanup(ctx, database); err != nil {
		p.delete(ctx)
		return nil, err
	}
	gctx, stop := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(gctx)
	g.Go(func() error { p.renew(gctx); return nil })
	p.stop, p.g = stop, g
	return p, nil
}

// awaitCleanup waits while a cleanup holds the database's lease (see the
// top of this file): the caller's pin is written, so the next cleanup sees
// it, but one already past its LIST of the pins would not.
func (s *Service) awaitCleanup(ctx context.Context, database string) error {
	logged := false
	for {
		data, _, err := s.store.Get(ctx, s.layout.LockKey(database))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the lease of %s: %w", database, err)
		}
		var l LeaseInfo
		if json.Unmarshal(data, &l) != nil || l.Purpose != "cleanup" || !s.now().Before(l.ExpiresAt) {
			return nil
		}
		if !logged {
			s.logger.Info("waiting for a cleanup to end before reading backups", "database", database, "cleanup", l.Owner)
			logged = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the cleanup of %s to end: %w", database, ctx.Err())
		case <-time.After(s.opts.PollInterval):
		}
	}
}

// Narrow names the backup the operation reads: from now on the pin keeps it
// and what it is built on, not the whole database. If the write fails the
// pin keeps every backup, which is more, never less.
func (p *Pin) Narrow(ctx context.Context, backup string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.info.Backup = backup
	p.mu.Unlock()
	if err := p.write(ctx); err != nil && ctx.Err() == nil {
		p.s.logger.Warn("narrow the pin; it keeps every backup of the database", "pin", p.key, "err", err)
	}
}

// Release stops renewing the pin and deletes it.
func (p *Pin) Release(ctx context.Context) {
	if p == nil {
		return
	}
	p.stop()
	_ = p.g.Wait() // no renewal in flight: the delete is the last write
	p.delete(ctx)
}

func (p *Pin) delete(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := p.s.store.Delete(ctx, []string{p.key}); err != nil {
		p.s.logger.Warn("release the pin; it goes stale and a cleanup removes it", "pin", p.key, "err", err)
	}
}

// write puts the pin with a fresh heartbeat. Unconditional: a pin that a
// cleanup removed as stale (its holder was cut off from S3 for a while)
// comes back with the next heartbeat.
func (p *Pin) write(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.info.Heartbeat = p.s.now().UTC()
	data, err := json.Marshal(p.info)
	if err != nil {
		return fmt.Errorf("encode pin: %w", err)
	}
	if _, err := p.s.store.Put(ctx, p.key, data, PutCondition{}); err != nil {
		return fmt.Errorf("write pin %s: %w", p.key, err)
	}
	return nil
}

// renew rewrites the pin every pinHeartbeatEvery until ctx ends. A failed
// write is retried at the next beat: the pin stays valid for PinStaleAfter.
func (p *Pin) renew(ctx context.Context) {
	tick := time.NewTicker(pinHeartbeatEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := p.write(ctx); err != nil && ctx.Err() == nil {
			p.s.logger.Warn("renew the pin; will retry", "pin", p.key, "err", err)
		}
	}
}
