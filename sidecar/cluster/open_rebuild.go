package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// open.json holds more than the open sets: LastFull decides whether an
// auto set is full, and LastID is the newest set name given. Deleted (by
// hand, or by an S3 lifecycle rule expiring an object not rewritten for
// long), the next auto set was full for no reason, a set could be named
// before a sealed one, and an open set no request waits for was stepped by
// no node until a cleanup sealed it partial. So before open.json is written
// anew, it is rebuilt from the sets' folder (rebuildOpen). A database's
// first set finds the folder empty: one LIST. The restores being run are
// not rebuilt: the request running each lists it again (relistRestore).

// maxRebuildReads bounds the set.json reads of one rebuild, newest first.
// A set past it is neither listed again (one open that long is sealed by
// its waiting request or a cleanup) nor taken for the newest full (the
// next auto set is then full, as with none).
const maxRebuildReads = 500

// rebuildOpen is open.json as the sets' folder shows it: LastID the
// newest set's name, LastFull the creation of the newest completed full
// set, and the sets still open before their deadline listed again. Every
// set up to maxRebuildReads is read, not only those within this node's
// shard_timeout: another node's may be longer.
func rebuildOpen(ctx context.Context, c *Coordinator, database string) (setmodel.OpenSets, error) {
	open := setmodel.OpenSets{Version: setmodel.SetVersion}
	ids, err := listSetIDs(ctx, c.store, c.layout, database)
	if err != nil || len(ids) == 0 {
		return open, err
	}
	open.LastID = ids[len(ids)-1]
	now := c.now()
	for _, id := range ids[max(0, len(ids)-maxRebuildReads):] {
		set, _, err := c.readSet(ctx, database, id)
		if errors.Is(err, coord.ErrNotFound) {
			continue // a cleanup stopped while deleting it
		}
		if err != nil {
			c.logger.Warn("rebuild the open sets: a set cannot be read; left out", "database", database, "set", id, "err", err)
			continue
		}
		if set.State == setmodel.SetOpen && now.Before(set.Deadline) {
			listOpenSet(&open, set)
		}
		open.NoteFull(set)
	}
	if len(open.Sets) > 0 || open.LastFull != nil {
		c.logger.Warn("the open sets' index was missing: rebuilt from the sets", "database", database,
			"open_sets", len(open.Sets), "last_id", open.LastID)
	}
	return open, nil
}

// readOpenToWrite is readOpen for a change: a missing open.json is rebuilt
// (rebuildOpen), so the write does not lose what it held. rebuilt: it was,
// from sets there are, and is to be written whether the change changes
// anything or not.
func readOpenToWrite(ctx context.Context, c *Coordinator, database string) (open setmodel.OpenSets, etag string, rebuilt bool, err error) {
	open, etag, err = c.readOpen(ctx, database)
	if err != nil || etag != "" {
		return open, etag, false, err
	}
	open, err = rebuildOpen(ctx, c, database)
	if err != nil {
		return setmodel.OpenSets{}, "", false, fmt.Errorf("rebuild the open sets of %s: %w", database, err)
	}
	return open, "", open.LastID != "", nil
}
