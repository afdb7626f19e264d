package coord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The engine's own files in the bucket — the catalog index and the check
// results of each database, and the work records of restores and verifies
// — are JSON whose content is the engine's; here is how each is read and
// written, and which writes are conditional.

// ErrUnreadable marks an object that is not the JSON ClickVault wrote.
var ErrUnreadable = errors.New("not ClickVault's JSON")

// readJSON reads key's JSON into v and returns its ETag: ErrNotFound when
// there is none, ErrUnreadable (with the ETag) when it cannot be decoded.
func readJSON(ctx context.Context, store ObjectStore, key string, v any) (string, error) {
	data, etag, err := store.Get(ctx, key)
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return etag, fmt.Errorf("%s: %w: %w", key, ErrUnreadable, err)
	}
	return etag, nil
}

// ReadIndex reads a database's catalog index into v: ErrNotFound when
// there is none, ErrUnreadable when it is damaged.
func (b *Bucket) ReadIndex(ctx context.Context, database string, v any) error {
	_, err := readJSON(ctx, b.store, b.layout.IndexKey(database), v)
	return err
}

// WriteIndex replaces a database's catalog index with v and returns the
// ETag it now has. Only a lease holder calls it, so the write is
// unconditional.
func (b *Bucket) WriteIndex(ctx context.Context, database string, v any) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode the catalog index of %s: %w", database, err)
	}
	etag, err := b.store.Put(ctx, b.layout.IndexKey(database), data, PutCondition{})
	if err != nil {
		return "", fmt.Errorf("write the catalog index of %s: %w", database, err)
	}
	return etag, nil
}

// IndexETag is the ETag of a database's catalog index now ("" when there
// is none): whether a writer rewrote it since an ETag was known. A HEAD:
// the index of a deep catalog is large.
func (b *Bucket) IndexETag(ctx context.Context, database string) (string, error) {
	etag, err := b.store.ETag(ctx, b.layout.IndexKey(database))
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the catalog index of %s: %w", database, err)
	}
	return etag, nil
}

// ReadChecks reads a database's check results into v: ErrNotFound when
// there are none, ErrUnreadable when the file is damaged.
func (b *Bucket) ReadChecks(ctx context.Context, database string, v any) error {
	_, err := readJSON(ctx, b.store, b.layout.CheckKey(database), v)
	return err
}

// UpdateChecks applies change to a database's check results (the zero T
// when there are none or the file is damaged, which is then replaced) with
// a conditional write, again when another check or verify wrote first: the
// results need no lease, and two at once both land.
func UpdateChecks[T any](ctx context.Context, b *Bucket, database string, change func(*T)) error {
	key := b.layout.CheckKey(database)
	for range 5 {
		var f T
		etag, err := readJSON(ctx, b.store, key, &f)
		switch {
		case errors.Is(err, ErrNotFound):
		case errors.Is(err, ErrUnreadable):
			f = *new(T)
		case err != nil:
			return fmt.Errorf("read check results of %s: %w", database, err)
		}
		change(&f)
		data, err := json.MarshalIndent(f, "", "  ")
		if err != nil {
			return fmt.Errorf("encode check results: %w", err)
		}
		cond := PutCondition{IfMatch: etag}
		if etag == "" {
			cond = PutCondition{IfNoneMatch: true}
		}
		_, err = b.store.Put(ctx, key, data, cond)
		// Changed since the read, or deleted (S3 answers If-Match on a
		// missing key 404): read again.
		changed := errors.Is(err, ErrPreconditionFailed) || (etag != "" && errors.Is(err, ErrNotFound))
		if !changed {
			if err != nil {
				return fmt.Errorf("write check results of %s: %w", database, err)
			}
			return nil
		}
	}
	return fmt.Errorf("write check results of %s: it kept changing under this check", database)
}

// WorkHeartbeatEvery is how often a work record is rewritten while its
// operation runs.
const WorkHeartbeatEvery = 15 * time.Second

// KeepWork writes the work record rec of operation id and renews it every
// beat (stamp sets its heartbeat). A record that cannot be written is
// returned held in memory only, with the error.
func KeepWork[T any](ctx context.Context, b *Bucket, id string, rec T, stamp func(*T, time.Time), every time.Duration) (*Kept[T], error) {
	return keep(ctx, b, b.layout.WorkKey(id), "work record", rec, stamp, every)
}

// AdoptWork takes over the work record of operation id that an earlier run
// wrote: rec, with its new holder, is written and renewed. The record
// exists, so a failed first write is only returned: the next beat tries
// again.
func AdoptWork[T any](ctx context.Context, b *Bucket, id string, rec T, stamp func(*T, time.Time), every time.Duration) (*Kept[T], error) {
	k := &Kept[T]{store: b.store, key: b.layout.WorkKey(id), stamp: stamp, now: b.now, logger: b.logger,
		what: "work record", value: rec}
	err := k.write(ctx)
	k.renew(ctx, every)
	return k, err
}

// ReadWork reads the work record of operation id into v: ErrNotFound when
// there is none, ErrUnreadable when it is damaged.
func (b *Bucket) ReadWork(ctx context.Context, id string, v any) error {
	if _, err := readJSON(ctx, b.store, b.layout.WorkKey(id), v); err != nil {
		return fmt.Errorf("read the work record of %s: %w", id, err)
	}
	return nil
}

// WriteWork replaces the work record of operation id with v, as the sweep
// does when it marks a restore abandoned.
func (b *Bucket) WriteWork(ctx context.Context, id string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode work record: %w", err)
	}
	if _, err := b.store.Put(ctx, b.layout.WorkKey(id), data, PutCondition{}); err != nil {
		return fmt.Errorf("write the work record of %s: %w", id, err)
	}
	return nil
}

// DeleteWork deletes the work record of operation id.
func (b *Bucket) DeleteWork(ctx context.Context, id string) error {
	if err := b.store.Delete(ctx, []string{b.layout.WorkKey(id)}); err != nil {
		return fmt.Errorf("delete the work record of %s: %w", id, err)
	}
	return nil
}

// WorkIDs lists the operations that have a work record.
func (b *Bucket) WorkIDs(ctx context.Context) ([]string, error) {
	listing, err := b.store.List(ctx, b.layout.WorkRoot(), true)
	if err != nil {
		return nil, fmt.Errorf("list work records: %w", err)
	}
	ids := make([]string, 0, len(listing.Objects))
	for _, o := range listing.Objects {
		ids = append(ids, WorkID(o.Key))
	}
	return ids, nil
}
