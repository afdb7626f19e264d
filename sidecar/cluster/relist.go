package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// relistEvery is how often a waiting request makes sure its open set (its
// restore) is still listed in open.json: one GET of it, a PUT only when it
// is not. open.json is the only way sidecars learn of a set: deleted (by
// hand, a lifecycle rule, a bucket restored from an older version), its
// sets would never be worked or sealed, and their requests would wait for
// ever.
const relistEvery = 30 * time.Second

// overdueGrace is how long past a set's deadline the nodes, which seal it
// in their steps, have to do so before its waiting request or a cleanup
// seals it (sealOverdue): open.json unreadable, or no node stepping the
// database any more, would otherwise leave it open for ever. Minutes, so
// that a sidecar or a cron job whose clock is ahead by less than that
// seals no set before its deadline by the clock of the sidecar that made
// it.
const overdueGrace = 5 * time.Minute

// overdue reports whether set, open, is overdueGrace past its deadline.
func overdue(c *Coordinator, set setmodel.Set) bool {
	return set.State == setmodel.SetOpen && !c.now().Before(set.Deadline.Add(overdueGrace))
}

// relistSet lists set in open.json again if it is missing there and its
// set.json, read after open.json, still says open; once listed, it reads
// set.json again and unlists a set sealed meanwhile.
func relistSet(ctx context.Context, c *Coordinator, set setmodel.Set) error {
	relisted := false
	var readErr error
	err := c.updateOpen(ctx, set.Database, func(open *setmodel.OpenSets) bool {
		relisted, readErr = false, nil // of this try: a lost race tries again
		if _, listed := open.Find(set.ID); listed {
			return false
		}
		now, _, err := c.readSet(ctx, set.Database, set.ID)
		if err != nil || now.State != setmodel.SetOpen {
			readErr = err
			return false
		}
		listOpenSet(open, set)
		relisted = true
		return true
	})
	if err = errors.Join(err, readErr); err != nil {
		return err
	}
	if !relisted {
		return nil
	}
	c.logger.Warn("an open set was missing from open.json (deleted?); listed it again so the nodes work and seal it",
		"database", set.Database, "set", set.ID, "request", set.RequestID)
	// A seal between the read of set.json and the listing whose unlisting
	// found nothing to drop leaves the sealed set listed: drop it now.
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

// sealOverdue seals set id if it is still open overdueGrace past its
// deadline, as any sidecar may once the deadline has passed (trySeal:
// partial when shards lack a result, each with why), and reports whether
// it was overdue.
func sealOverdue(ctx context.Context, c *Coordinator, database, id string) (bool, error) {
	set, etag, err := c.readSet(ctx, database, id)
	if err != nil || !overdue(c, set) {
		return false, err
	}
	c.logger.Warn("an open set is past its deadline and no node sealed it; sealing it here",
		"database", database, "set", id, "deadline", set.Deadline)
	return true, c.trySeal(ctx, openSet{set: set, etag: etag})
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

// sealStranded seals the sets of st still open overdueGrace past their
// deadline (sealOverdue), or in a dry run says it would, and reads the
// state again if it sealed any. Retention keeps open sets, and with them
// every backup they name: a set no node steps any more (open.json lost,
// and its requester's sidecar gone for good) would be kept for ever. A
// set a shard's backup still runs for (its claim held) is left to a later
// cleanup; one sealed here is kept by this one, so a result its last
// backup writes late lands in a set retention still sees. What it did,
// and a set it could not seal, are problems the outcome names; the
// cleanup goes on.
func (r Requests) sealStranded(ctx context.Context, database string, st setmodel.SetsState, dryRun bool,
	out *control.SetCleanupOutcome) (setmodel.SetsState, error) {
	var sealed []string
	for i, s := range st.Sets {
		if !overdue(r.Coord, s) {
			continue
		}
		if holder, err := claimHeld(ctx, r.Coord, s); err != nil || holder != "" {
			out.Problems = append(out.Problems, fmt.Sprintf("set %s is open past its deadline and not sealed: %s",
				s.ID, orWords(err, "a backup of it still runs on "+holder)))
			continue
		}
		if dryRun { // planned as the real run will find it
			st.Sets[i].State = Sealed(s, st.Results[s.ID], nil, "", r.Coord.now()).State
			sealed = append(sealed, s.ID)
			out.Problems = append(out.Problems, fmt.Sprintf("set %s is open past its deadline and no node seals it: the cleanup seals it (%s)",
				s.ID, st.Sets[i].State))
			continue
		}
		if did, err := sealOverdue(ctx, r.Coord, database, s.ID); err != nil || did {
			sealed = append(sealed, s.ID)
			out.Problems = append(out.Problems, fmt.Sprintf("set %s was open past its deadline and no node sealed it: %s",
				s.ID, orWords(err, "sealed")))
		}
	}
	var err error
	if len(sealed) > 0 && !dryRun {
		st, err = r.setsState(ctx, database)
	}
	for _, id := range sealed {
		st.Busy[id] = sealedByThisCleanup
	}
	return st, err
}

// sealedByThisCleanup is why a set sealStranded sealed is kept by the
// cleanup that sealed it (SetsState.Busy).
const sealedByThisCleanup = "sealed by this cleanup: a later one may delete it"

// claimHeld names the holder of a claim of set's shards still valid now,
// "" if none is.
func claimHeld(ctx context.Context, c *Coordinator, set setmodel.Set) (string, error) {
	for _, n := range set.Shards {
		data, _, err := c.store.Get(ctx, c.layout.ClaimKey(set.Database, set.ID, n))
		if errors.Is(err, coord.ErrNotFound) {
			continue
		}
		var info coord.LeaseInfo
		if err == nil {
			err = json.Unmarshal(data, &info)
		}
		if err != nil {
			return "", fmt.Errorf("read the claim of shard %d of set %s: %w", n, set.ID, err)
		}
		if c.now().Before(info.ExpiresAt) {
			return info.Holder, nil
		}
	}
	return "", nil
}

// orWords is err's text, or words when err is nil.
func orWords(err error, words string) string {
	if err != nil {
		return "could not seal it: " + err.Error()
	}
	return words
}
