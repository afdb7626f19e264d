package coord

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Kept is an object its holder keeps alive: written at once, rewritten with
// a fresh heartbeat every beat until the holder stops, so that others can
// tell a live holder from a dead one by the heartbeat's age. Pins and work
// records are kept this way. A Kept whose first write failed is held in
// memory only and never written (its holder goes on without it).
type Kept[T any] struct {
	store   ObjectStore
	key     string // "" once it is held in memory only
	stamp   func(*T, time.Time)
	now     func() time.Time
	logger  *slog.Logger
	what    string // for log lines: "pin", "work record"
	mu      sync.Mutex
	value   T
	stop    func() // ends the renewal
	renewal *errgroup.Group
}

// keep writes v at key with a fresh heartbeat (stamp sets it) and renews
// it every beat until Stop. A failed first write returns the error and a
// Kept held in memory only.
func keep[T any](ctx context.Context, b *Bucket, key, what string, v T, stamp func(*T, time.Time), every time.Duration) (*Kept[T], error) {
	k := &Kept[T]{store: b.store, key: key, stamp: stamp, now: b.now, logger: b.logger, what: what, value: v}
	if err := k.write(ctx); err != nil {
		k.key = ""
		return k, err
	}
	k.renew(ctx, every)
	return k, nil
}

// Key is where the object is; "" when it is held in memory only.
func (k *Kept[T]) Key() string { return k.key }

// View calls fn with the content, which no write changes meanwhile: fn
// copies what it needs and changes nothing.
func (k *Kept[T]) View(fn func(*T)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	fn(&k.value)
}

// Update changes the content and writes it at once: the holder's next step
// must not run before the object says what it may leave behind.
func (k *Kept[T]) Update(ctx context.Context, change func(*T)) error {
	k.mu.Lock()
	change(&k.value)
	k.mu.Unlock()
	return k.write(ctx)
}

// Stop stops the renewal; no write is in flight once it returns.
func (k *Kept[T]) Stop() {
	if k.stop != nil {
		k.stop()
		_ = k.renewal.Wait()
	}
}

// Delete stops the renewal and deletes the object; a failure is logged:
// the object goes stale and whoever sweeps such objects removes it.
func (k *Kept[T]) Delete(ctx context.Context) {
	k.Stop()
	if k.key == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := k.store.Delete(ctx, []string{k.key}); err != nil {
		k.logger.Warn("delete the "+k.what+"; it goes stale and is removed later", "key", k.key, "err", err)
	}
}

// write puts the content with a fresh heartbeat. Unconditional: an object
// removed as stale (its holder was cut off from S3 for a while) comes back
// with the next heartbeat.
func (k *Kept[T]) write(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key == "" {
		return nil
	}
	k.stamp(&k.value, k.now().UTC())
	data, err := json.Marshal(k.value)
	if err != nil {
		return fmt.Errorf("encode %s: %w", k.what, err)
	}
	if _, err := k.store.Put(ctx, k.key, data, PutCondition{}); err != nil {
		return fmt.Errorf("write %s %s: %w", k.what, k.key, err)
	}
	return nil
}

// renew rewrites the object every beat until Stop or ctx ends. A failed
// write is retried at the next beat: the object stays fresh for a few.
func (k *Kept[T]) renew(ctx context.Context, every time.Duration) {
	stopped := make(chan struct{})
	var once sync.Once
	k.stop = func() { once.Do(func() { close(stopped) }) }
	k.renewal = &errgroup.Group{}
	k.renewal.Go(func() error {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-stopped:
				return nil
			case <-tick.C:
			}
			if err := k.write(ctx); err != nil && ctx.Err() == nil {
				k.logger.Warn("renew the "+k.what+"; will retry", "key", k.key, "err", err)
			}
		}
	})
}
