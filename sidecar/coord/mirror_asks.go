package coord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// MirrorAsks is the content of MirrorAsksKey: each database a CLI run
// changed in the bucket (a backup, a cleanup, a check's or a verify's
// results) and when. The sidecar mirrors into clickvault.backups after
// its own requests only, so a cron job's backups and cleanups showed in
// the table, the status page and the age metric only at the next
// request or scheduled check of the database (up to a day, or never):
// the sidecar looks at this one object every 30 polls, and mirrors those
// asked since it last looked.
type MirrorAsks struct {
	Version int                  `json:"version"`
	Asks    map[string]time.Time `json:"asks"`
}

// Bounds of MirrorAsks: an ask older than mirrorAskKept was seen (or its
// sidecar was down, and mirrors every database at start); a run of more
// databases than maxMirrorAsks is not a deployment's.
const (
	mirrorAskKept = 24 * time.Hour
	maxMirrorAsks = 10_000
)

// AskMirror adds databases, changed now, to the object at key: a
// conditional read-modify-write, so two runs ending at once both count.
func AskMirror(ctx context.Context, store ObjectStore, key string, databases []string, now time.Time) error {
	if len(databases) == 0 {
		return nil
	}
	for range 3 {
		asks, etag, err := readMirrorAsks(ctx, store, key)
		if err != nil {
			return err
		}
		for db, at := range asks.Asks {
			if now.Sub(at) > mirrorAskKept {
				delete(asks.Asks, db)
			}
		}
		for _, db := range databases {
			if len(asks.Asks) < maxMirrorAsks || !asks.Asks[db].IsZero() {
				asks.Asks[db] = now.UTC()
			}
		}
		data, err := json.Marshal(asks)
		if err != nil {
			return fmt.Errorf("encode %s: %w", key, err)
		}
		cond := PutCondition{IfMatch: etag, IfNoneMatch: etag == ""}
		_, err = store.Put(ctx, key, data, cond)
		if errors.Is(err, ErrPreconditionFailed) || errors.Is(err, ErrNotFound) {
			// Another run wrote it since the read: runs of one cron
			// schedule end together, so not again at once.
			select {
			case <-ctx.Done():
				return fmt.Errorf("write %s: %w", key, ctx.Err())
			case <-time.After(time.Duration(10+rand.IntN(90)) * time.Millisecond): //nolint:gosec // a pause, not a secret
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", key, err)
		}
		return nil
	}
	return fmt.Errorf("write %s: it changed three times while read", key)
}

// MirrorAsked reads the object at key when its ETag is not seen (the one
// read last; "" the first time): the asks and the ETag read, or none and
// seen again when it has not changed (one HEAD).
func MirrorAsked(ctx context.Context, store ObjectStore, key, seen string) (MirrorAsks, string, error) {
	if seen != "" {
		etag, err := store.ETag(ctx, key)
		if errors.Is(err, ErrNotFound) || err == nil && etag == seen {
			return MirrorAsks{}, seen, nil
		}
		if err != nil {
			return MirrorAsks{}, seen, fmt.Errorf("look at %s: %w", key, err)
		}
	}
	asks, etag, err := readMirrorAsks(ctx, store, key)
	if err != nil {
		return MirrorAsks{}, seen, err
	}
	return asks, etag, nil
}

// readMirrorAsks reads the object at key and its ETag: empty asks and ""
// when there is none, or it cannot be parsed (it is rewritten whole).
func readMirrorAsks(ctx context.Context, store ObjectStore, key string) (MirrorAsks, string, error) {
	asks := MirrorAsks{Version: 1, Asks: map[string]time.Time{}}
	data, etag, err := store.Get(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return asks, "", nil
	}
	if err != nil {
		return asks, "", fmt.Errorf("read %s: %w", key, err)
	}
	var read MirrorAsks
	if json.Unmarshal(data, &read) == nil && read.Asks != nil {
		asks.Asks = read.Asks
	}
	return asks, etag, nil
}

// MirrorAsked is MirrorAsked of this prefix's object (a cluster's one for
// every node).
func (c *Claims) MirrorAsked(ctx context.Context, seen string) (MirrorAsks, string, error) {
	return MirrorAsked(ctx, c.store, c.layout.MirrorAsksKey(), seen)
}
