package cluster

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
)

// relistEvery is how often a waiting request makes sure its open set is
// still listed in open.json (one GET of it; a PUT only when it is not),
// and how long past a set's deadline it waits for the nodes to seal it
// before it seals the set itself. open.json is the only way sidecars
// learn of a set: deleted (by hand, a lifecycle rule, a bucket restored
// from an older version) or unreadable, its sets would never be worked
// or sealed, and their requests would wait for ever.
const relistEvery = 30 * time.Second

// relistSet lists set in open.json again if it is missing there and its
// set.json, read after open.json, still says open (a function, not a
// method: the Coordinator's methods are many already). Read in that
// order, a set sealed and unlisted meanwhile is never listed again: its
// seal came before the read, or its unlisting comes after the listing
// (or breaks its condition, and the next try reads the seal).
func relistSet(ctx context.Context, c *Coordinator, set setmodel.Set) error {
	relisted := false
	var readErr error
	err := c.updateOpen(ctx, set.Database, func(open *setmodel.OpenSets) bool {
		relisted = false
		if _, listed := open.Find(set.ID); listed {
			return false
		}
		now, _, err := c.readSet(ctx, set.Database, set.ID)
		if err != nil || now.State != setmodel.SetOpen {
			readErr = err
			return false
		}
		open.Sets = append(open.Sets, setmodel.OpenEntry{ID: set.ID, RequestID: set.RequestID,
			CreatedAt: set.CreatedAt, Deadline: set.Deadline})
		open.LastID = max(open.LastID, set.ID)
		relisted = true
		return true
	})
	if err = errors.Join(err, readErr); err != nil {
		return err
	}
	if relisted {
		c.logger.Warn("an open set was missing from open.json (deleted?); listed it again so the nodes work and seal it",
			"database", set.Database, "set", set.ID, "request", set.RequestID)
		c.Wake()
	}
	return nil
}

// sealOverdue seals set if it is still open relistEvery past its
// deadline, as any sidecar may once the deadline has passed: the nodes,
// which seal it in their steps, do not (open.json unreadable, or no node
// steps the database any more). Its shards without a result are
// partial, each with why.
func sealOverdue(ctx context.Context, c *Coordinator, database, id string) error {
	set, etag, err := c.readSet(ctx, database, id)
	if err != nil || set.State != setmodel.SetOpen || c.now().Before(set.Deadline.Add(relistEvery)) {
		return err
	}
	c.logger.Warn("an open set is past its deadline and no node sealed it; sealing it here",
		"database", database, "set", id, "deadline", set.Deadline)
	return c.trySeal(ctx, openSet{set: set, etag: etag})
}

// forgetUnlisted drops what is cached of database's sets that open.json no
// longer lists: sealed and unlisted by another sidecar, they are not read
// again here, and one listed again later (relistSet, a bucket rolled back)
// is read anew from its set.json, not worked as the "open" set this
// sidecar once read.
func forgetUnlisted(c *Coordinator, database string, open setmodel.OpenSets) {
	prefix := database + "/"
	var gone []string
	c.mu.Lock()
	for key := range c.sets {
		if id, ok := strings.CutPrefix(key, prefix); ok {
			if _, listed := open.Find(id); !listed {
				gone = append(gone, id)
			}
		}
	}
	c.mu.Unlock()
	for _, id := range gone {
		c.forget(setmodel.Set{Database: database, ID: id})
	}
}

// relistRestore lists the restore of run in open.json again if no entry
// lists it, and reports whether it did: its steps would otherwise never
// run, and the request would end at its deadline with nothing restored. A
// restore a later request took over (the record names another run) is
// that request's to list.
func relistRestore(ctx context.Context, c *Coordinator, rec setmodel.RestoreRecord, run string) (bool, error) {
	if rec.Run != run {
		return false, nil
	}
	relisted := false
	err := c.updateOpen(ctx, rec.Database, func(open *setmodel.OpenSets) bool {
		relisted = false
		for _, e := range open.Restores {
			if sameRestore(e, rec) {
				return false
			}
		}
		open.Restores, relisted = append(open.Restores, openRestoreOf(rec)), true
		return true
	})
	if err == nil && relisted {
		c.logger.Warn("a restore being run was missing from open.json (deleted?); listed it again so the nodes run its steps",
			"database", rec.Database, "set", rec.Set, "target", rec.Target)
		c.Wake()
	}
	return relisted && err == nil, err
}

// sealStranded seals the sets of st still open relistEvery past their
// deadline (sealOverdue) and reads the state again if it sealed any.
// Retention keeps open sets, and with them every backup they name: a set
// no node steps any more (open.json lost, and its requester's sidecar
// gone for good) would be kept for ever.
func (r Requests) sealStranded(ctx context.Context, database string, st setmodel.SetsState) (setmodel.SetsState, error) {
	sealed := false
	for _, s := range st.Sets {
		if s.State != setmodel.SetOpen || r.Coord.now().Before(s.Deadline.Add(relistEvery)) {
			continue
		}
		if err := sealOverdue(ctx, r.Coord, database, s.ID); err != nil {
			return st, err
		}
		sealed = true
	}
	if !sealed {
		return st, nil
	}
	return r.setsState(ctx, database)
}
