package control

import (
	"context"
	"sync"
	"time"
)

// grantsKept is how long a login's grants, once read, may refuse a right
// without being read again. A flood of requests on databases its login has
// no right on is refused at the speed of memory (each read is two or more
// queries). A right is never granted on grants read for an earlier authorization:
// a yes is read again, so a revoke counts at once (a queued request's
// second authorization sees it); a grant counts within grantsKept.
const grantsKept = time.Second

// operatorGrantsKept is how long the sidecar's own grants, once read,
// answer its operator's requests (the schedule's, HTTP's) both ways. Such
// a request runs with the sidecar's rights, and ClickHouse refuses its
// BACKUP itself if a grant went meanwhile: a yes read seconds ago risks a
// clear answer, never a right. A scheduled round of a thousand databases
// reads them a few times, not twice per request (each read two queries).
const operatorGrantsKept = 10 * time.Second

// keptGrants are the logins' grants as last read, each kept grantsKept to
// refuse rights. Logins are few, so the map stays small; entries are
// replaced, never piled up. A nil keptGrants keeps nothing.
type keptGrants struct {
	mu    sync.Mutex
	users map[string]kept
}

type kept struct {
	grants Grants
	at     time.Time
}

func newKeptGrants() *keptGrants { return &keptGrants{users: map[string]kept{}} }

// get returns user's grants read within within of now.
func (k *keptGrants) get(user string, now time.Time, within time.Duration) (Grants, bool) {
	if k == nil {
		return nil, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	g, ok := k.users[user]
	if !ok || now.Sub(g.at) >= within {
		return nil, false
	}
	return g.grants, true
}

func (k *keptGrants) put(user string, g Grants, at time.Time) {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.users[user] = kept{grants: g, at: at}
}

// rightsLookup is one authorization's view of its requester's grants: an
// admission, the authorization again before a queued request starts, or
// an include's permit. Every right it asks is answered from one read of
// the grants, made at the first question, or from grants kept from an
// earlier authorization when they refuse; a yes from kept grants reads
// them once, and the lookup goes on with what that read found. Not safe
// for concurrent use: an authorization asks its rights in turn.
type rightsLookup struct {
	auth   Authorizer
	now    func() time.Time
	kept   *keptGrants
	user   string
	grants Grants
	read   bool // grants were read for this lookup
	// operator: the lookup is of the sidecar's own grants for its
	// operator's request, which kept grants answer both ways for
	// operatorGrantsKept.
	operator bool
}

// grantsOf starts a lookup of user's rights.
func (s *base) grantsOf(user string) *rightsLookup {
	now := s.now
	if now == nil { // a base made by hand, in a unit test
		now = time.Now
	}
	return &rightsLookup{auth: s.auth, now: now, kept: s.kept, user: user}
}

// grantsOfJob starts the lookup of j's requester's rights: the sidecar's
// own, kept longer and both ways, for its operator's request.
func (s *base) grantsOfJob(j Job) *rightsLookup {
	g := s.grantsOf(j.RequestedBy)
	g.operator = j.Operator && j.RequestedBy == s.opts.OwnUser
	return g
}

// can says whether the user holds p on table of database, or with table
// "" on every table of it.
func (c *rightsLookup) can(ctx context.Context, p Privilege, database, table string) (bool, error) {
	if c.grants == nil {
		within := grantsKept
		if c.operator {
			within = operatorGrantsKept
		}
		c.grants, _ = c.kept.get(c.user, c.now(), within)
	}
	if c.grants != nil && (c.operator || !c.grants.Can(p, database, table)) {
		return c.grants.Can(p, database, table), nil
	}
	if c.grants == nil || !c.read {
		if err := c.readNow(ctx); err != nil {
			return false, err
		}
	}
	return c.grants.Can(p, database, table), nil
}

// readNow reads the grants for this lookup and keeps them for the next.
func (c *rightsLookup) readNow(ctx context.Context) error {
	at := c.now()
	g, err := c.auth.Grants(ctx, c.user)
	if err != nil {
		return err
	}
	c.grants, c.read = g, true
	c.kept.put(c.user, g, at)
	return nil
}
