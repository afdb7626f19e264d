package clickhouse_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/clickhouse"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/internal/controltest"
	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestControlContract runs the control plane's contract suite on the SQL
// control plane: the sidecar's login (deploy/grants.sql's clickvault) on a
// fresh control database per subtest, requesters as real logins.
func TestControlContract(t *testing.T) {
	users, grants := map[string]string{testbed.Admin: "admin-pass"}, map[string][]string{}
	for _, login := range controltest.Logins {
		users[login], grants[login] = login+"-pass", []string{"INSERT ON clickvault.requests"}
	}
	bed := testbed.New(t, testbed.Options{Users: users, Grants: grants})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	admin, err := bed.ClickHouse.Dial(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	db, err := clickhouse.Open(ctx, clickhouse.Config{Addr: bed.ClickHouse.Addr, User: controltest.OwnUser,
		Password: bed.ClickHouse.Password(controltest.OwnUser)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	logins := &loginClients{bed: bed, clients: map[string]*ch.Client{}}
	defer logins.close()
	controltest.Contract(t, func(t *testing.T) controltest.Plane {
		run(t, ctx, admin, "DROP DATABASE IF EXISTS clickvault SYNC")
		c, err := clickhouse.NewControlPlane(db, "clickvault")
		if err != nil {
			t.Fatal(err)
		}
		c = c.WithProof(controltest.OwnUser, controltest.ProofKey)
		if err := c.Init(ctx); err != nil {
			t.Fatalf("init the control database: %v", err)
		}
		// Rows are backdated to test what readers make of them; the
		// constraint that forbids it guards inserts, tested elsewhere.
		run(t, ctx, admin, "ALTER TABLE clickvault.requests DROP CONSTRAINT requested_at_is_now")
		return serverPlane{ControlPlane: c, logins: logins}
	})
}

func run(t *testing.T, ctx context.Context, c *ch.Client, query string) {
	t.Helper()
	if err := c.Do(ctx, ch.Query{Body: query}); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// loginClients are connections as the suite's requesters, one per login.
type loginClients struct {
	bed     *testbed.Bed
	mu      sync.Mutex
	clients map[string]*ch.Client
}

func (l *loginClients) get(ctx context.Context, login string) (*ch.Client, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.clients[login]; c != nil {
		return c, nil
	}
	c, err := l.bed.ClickHouse.Dial(ctx, login)
	if err != nil {
		return nil, err
	}
	l.clients[login] = c
	return c, nil
}

func (l *loginClients) close() {
	for _, c := range l.clients {
		_ = c.Close()
	}
}

// serverPlane is the SQL control plane with requesters' INSERTs beside it.
type serverPlane struct {
	*clickhouse.ControlPlane
	logins *loginClients
}

// InsertAs sends rows as login, one INSERT per run of rows with the same
// columns; a column left out gets the table's default.
func (p serverPlane) InsertAs(ctx context.Context, login string, rs ...control.Request) ([]string, error) {
	c, err := p.logins.get(ctx, login)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(rs))
	var cols []string
	var values []string
	flush := func() error {
		if len(values) == 0 {
			return nil
		}
		q := "INSERT INTO clickvault.requests (" + strings.Join(cols, ", ") + ")"
		if cols[len(cols)-1] == "requested_at" {
			q += " SETTINGS insert_allow_materialized_columns = 1"
		}
		err := c.Do(ctx, ch.Query{Body: q + " VALUES " + strings.Join(values, ", ")})
		values = nil
		if err != nil {
			return fmt.Errorf("insert as %s: %w", login, err)
		}
		return nil
	}
	for i, r := range rs {
		if r.ID == "" {
			r.ID = uuid.NewString()
		}
		ids[i] = r.ID
		names, literals := requestColumns(r)
		if strings.Join(names, ",") != strings.Join(cols, ",") {
			if err := flush(); err != nil {
				return nil, err
			}
			cols = names
		}
		values = append(values, "("+strings.Join(literals, ", ")+")")
	}
	return ids, flush()
}

// requestColumns are the columns r sets (those not at their zero value) and
// their SQL literals; requested_at, when set, comes last.
func requestColumns(r control.Request) (names, literals []string) {
	add := func(set bool, name, literal string) {
		if set {
			names, literals = append(names, name), append(literals, literal)
		}
	}
	str := clickhouse.QuoteString
	list := func(l []string) string {
		quoted := make([]string, len(l))
		for i, s := range l {
			quoted[i] = str(s)
		}
		return "[" + strings.Join(quoted, ", ") + "]"
	}
	at := func(t time.Time) string {
		return fmt.Sprintf("toDateTime64(%s, 3, 'UTC')", str(t.UTC().Format("2006-01-02 15:04:05.000")))
	}
	add(true, "id", str(r.ID))
	add(r.Action != "", "action", str(string(r.Action)))
	add(r.Database != "", "database", str(r.Database))
	add(r.Kind != "", "kind", str(r.Kind))
	add(r.Backup != "", "backup", str(r.Backup))
	var asOf string
	if r.AsOf != nil {
		asOf = at(*r.AsOf)
	}
	add(r.AsOf != nil, "as_of", asOf)
	add(r.Target != "", "target", str(r.Target))
	add(r.DryRun, "dry_run", "true")
	add(r.Via != "", "via", str(r.Via))
	add(len(r.Tables) > 0, "tables", list(r.Tables))
	add(len(r.ExcludeTables) > 0, "exclude_tables", list(r.ExcludeTables))
	add(len(r.Partitions) > 0, "partitions", list(r.Partitions))
	add(r.Mode != "", "mode", str(r.Mode))
	add(r.Consumers != "", "consumers", str(r.Consumers))
	add(r.Shard != 0, "shard", fmt.Sprint(r.Shard))
	add(r.Source != "", "source", str(r.Source))
	add(r.Proof != "", "proof", str(r.Proof))
	add(!r.RequestedAt.IsZero(), "requested_at", at(r.RequestedAt))
	return names, literals
}
