package cluster

import (
	"context"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
)

// relistEvery is how often a waiting request makes sure its open set is
// still listed in open.json (one GET of it; a PUT only when it is not).
// open.json is the only way sidecars learn of a set: deleted (by hand, a
// lifecycle rule, a bucket restored from an older version), its sets
// would never be worked or sealed, and their requests would wait for
// ever. Relisted, the set goes on where it was, or is sealed partial
// after its deadline as any set is.
const relistEvery = 30 * time.Second

// relistSet lists set in open.json again if it is missing there (a
// function, not a method: the Coordinator's methods are many already).
func relistSet(ctx context.Context, c *Coordinator, set setmodel.Set) error {
	relisted := false
	err := c.updateOpen(ctx, set.Database, func(open *setmodel.OpenSets) bool {
		if _, listed := open.Find(set.ID); listed {
			return false
		}
		open.Sets = append(open.Sets, setmodel.OpenEntry{ID: set.ID, RequestID: set.RequestID,
			CreatedAt: set.CreatedAt, Deadline: set.Deadline})
		open.LastID = max(open.LastID, set.ID)
		relisted = true
		return true
	})
	if err != nil {
		return err
	}
	if !relisted {
		return nil
	}
	c.logger.Warn("an open set was missing from open.json (deleted?); listed it again so the nodes work and seal it",
		"database", set.Database, "set", set.ID, "request", set.RequestID)
	// Sealed (and unlisted) between the caller's read and the listing:
	// drop it at once, before a node with the set cached as open works it.
	now, _, err := c.readSet(ctx, set.Database, set.ID)
	if err != nil {
		return err
	}
	if now.State != setmodel.SetOpen {
		return c.unlist(ctx, set.Database, set.ID, now)
	}
	c.Wake()
	return nil
}

// relistRestore lists the restore of run in open.json again if no entry
// lists it: its steps would otherwise never run, and the request would
// end at its deadline with nothing restored. A restore a later request
// took over (the record names another run) is that request's to list.
func relistRestore(ctx context.Context, c *Coordinator, rec setmodel.RestoreRecord, run string) error {
	if rec.Run != run {
		return nil
	}
	relisted := false
	err := c.updateOpen(ctx, rec.Database, func(open *setmodel.OpenSets) bool {
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
	return err
}
