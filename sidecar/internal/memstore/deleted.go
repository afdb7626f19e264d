package memstore

import (
	"context"
	"strings"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// DeletedBeforeWrite is a store that deletes the key of the first
// conditional (If-Match) write it sees, of a key ending in Suffix ("" any
// key), just before making it: another writer's delete landing between a
// read and the write. S3 answers such a write 404, as the store then does.
type DeletedBeforeWrite struct {
	*ObjectStore
	Suffix string
	done   bool
}

// Put deletes key first when it is the first conditional write to match.
func (d *DeletedBeforeWrite) Put(ctx context.Context, key string, data []byte, cond coord.PutCondition) (string, error) {
	if cond.IfMatch != "" && strings.HasSuffix(key, d.Suffix) && !d.done {
		d.done = true
		if err := d.Delete(ctx, []string{key}); err != nil {
			return "", err
		}
	}
	return d.ObjectStore.Put(ctx, key, data, cond)
}

// Deleted reports whether a key was deleted before its write.
func (d *DeletedBeforeWrite) Deleted() bool { return d.done }
