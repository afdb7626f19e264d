package clickhouse_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"

	"github.com/clickvault/clickvault/sidecar/clickhouse"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/dbtest"
	"github.com/clickvault/clickvault/sidecar/internal/testbed"
	"github.com/clickvault/clickvault/sidecar/s3"
)

// TestDatabaseContract runs the contract suite of the ClickHouse ports
// (Database and RestoreOps, each on its own) on the adapter against the test bed's server, backing up into its MinIO. It
// runs as the administrator: the suite is about what the statements do;
// the sidecar's own rights are deploy/grants.sql's, tested end to end.
func TestDatabaseContract(t *testing.T) {
	server, store := adapterOn(t, testbed.Options{})
	dbtest.Contract(t, server, store)
}

// TestSerialDatabaseContract runs the serial server's contract on the
// adapter against a test bed server with allow_concurrent_backups = false,
// its backups slowed (100 KB/s: about 4 s for the first) so that one is in progress while the next
// is sent.
func TestSerialDatabaseContract(t *testing.T) {
	server, store := adapterOn(t, testbed.Options{SerialBackups: true, Settings: map[string]string{"max_backup_bandwidth": "100000"}})
	nothing := func() {}
	dbtest.SerialContract(t, server, store, nothing, nothing)
}

// adapterOn is the adapter, as the administrator, and the bucket's store,
// on a test bed made with opts; all close when the test ends.
func adapterOn(t *testing.T, opts testbed.Options) (dbtest.Server, coord.ObjectStore) {
	t.Helper()
	opts.Users = map[string]string{testbed.Admin: "admin-pass"}
	bed := testbed.New(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	admin, err := bed.ClickHouse.Dial(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	m := bed.MinIO
	db, err := clickhouse.Open(ctx, clickhouse.Config{Addr: bed.ClickHouse.Addr, User: testbed.Admin, Password: "admin-pass",
		S3: clickhouse.S3Target{Endpoint: m.Endpoint, Bucket: m.Bucket, AccessKey: m.AccessKey, SecretKey: m.SecretKey}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	store, err := s3.New(ctx, s3.Config{Endpoint: m.Endpoint, Region: m.Region, Bucket: m.Bucket, AccessKey: m.AccessKey, SecretKey: m.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	return dbtest.NewServer(db.Ports(), &serverAdmin{t: t, ctx: ctx, admin: admin}), store
}

// serverAdmin is the administrator's DDL beside the adapter.
type serverAdmin struct {
	t     *testing.T
	ctx   context.Context
	admin *ch.Client
}

func (s *serverAdmin) exec(queries ...string) {
	s.t.Helper()
	for _, q := range queries {
		if err := s.admin.Do(s.ctx, ch.Query{Body: q}); err != nil {
			s.t.Fatalf("%s: %v", q, err)
		}
	}
}

func (s *serverAdmin) Create(database string, tables map[string]uint64) {
	db := clickhouse.QuoteIdent(database)
	s.exec("DROP DATABASE IF EXISTS "+db+" SYNC", "CREATE DATABASE "+db)
	names := make([]string, 0, len(tables))
	for name := range tables {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		table := db + "." + clickhouse.QuoteIdent(name)
		s.exec("CREATE TABLE " + table + " (x UInt64) ENGINE = MergeTree ORDER BY x")
		if n := tables[name]; n > 0 {
			s.exec(fmt.Sprintf("INSERT INTO %s SELECT number FROM numbers(%d)", table, n))
		}
	}
}

func (s *serverAdmin) SetPartitions(database, table string, parts map[string]uint64) {
	name := clickhouse.QuoteIdent(database) + "." + clickhouse.QuoteIdent(table)
	s.exec("DROP TABLE IF EXISTS "+name+" SYNC", "CREATE TABLE "+name+" (p UInt32, x UInt64) ENGINE = MergeTree PARTITION BY p ORDER BY x")
	for id, n := range parts {
		s.exec(fmt.Sprintf("INSERT INTO %s SELECT %s, number FROM numbers(%d)", name, id, n))
	}
}
