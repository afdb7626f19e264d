package clickhouse

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// grantsFresh is how long a login's grants, once read, may refuse a right
// without being read again. A flood of requests on databases its login has
// no right on is refused at the speed of memory (each read is two or more
// queries). A right is never granted on grants read before: a yes is read
// again, so a revoke counts at once (a queued request's second check sees
// it); a grant counts within grantsFresh.
const grantsFresh = time.Second

// grantCache keeps each login's roles and grant rows for grantsFresh.
type grantCache struct {
	mu    sync.Mutex
	users map[string]cachedGrants
}

type cachedGrants struct {
	rows []grantRow
	at   time.Time
}

// grantsOf returns user's grant rows (and those of their roles): those
// read within grantsFresh when fresh is false, else read now. Logins are
// few, so the map stays small; entries are replaced, never piled up.
func (d *Rights) grantsOf(ctx context.Context, user string, fresh bool) (rows []grantRow, cached bool, err error) {
	c := &d.grants
	c.mu.Lock()
	g, ok := c.users[user]
	c.mu.Unlock()
	if !fresh && ok && time.Since(g.at) < grantsFresh {
		return g.rows, true, nil
	}
	at := time.Now()
	roles, err := d.rolesOf(ctx, user)
	if err != nil {
		return nil, false, err
	}
	if rows, err = grantRows(ctx, d.conn, user, roles); err != nil {
		return nil, false, fmt.Errorf("read grants of %s: %w", user, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.users == nil {
		c.users = map[string]cachedGrants{}
	}
	c.users[user] = cachedGrants{rows: rows, at: at}
	return rows, false, nil
}
