package fakedb_test

import (
	"testing"

	"github.com/clickvault/clickvault/sidecar/internal/dbtest"
	"github.com/clickvault/clickvault/sidecar/internal/fakedb"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// TestDatabaseContract runs the contract suite that the ClickHouse adapter
// runs on the test bed (clickhouse.TestDatabaseContract).
func TestDatabaseContract(t *testing.T) {
	store := memstore.New()
	db := fakedb.New(store)
	dbtest.Contract(t, dbtest.NewServer(db.Ports(), db), store)
}

// TestSerialDatabaseContract runs the serial server's contract that the
// ClickHouse adapter runs on a test bed with allow_concurrent_backups =
// false (clickhouse.TestSerialDatabaseContract).
func TestSerialDatabaseContract(t *testing.T) {
	store := memstore.New()
	db := fakedb.NewSerial(store)
	dbtest.SerialContract(t, dbtest.NewServer(db.Ports(), db), store, db.Hold, db.Release)
}
