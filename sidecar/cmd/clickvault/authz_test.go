package main

import (
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// oldRequestsTable is clickvault.requests as installations made it before
// the requester constraint: the sidecar's migration must add it.
const oldRequestsTable = `CREATE TABLE clickvault.requests (
	id UUID DEFAULT generateUUIDv4(), action LowCardinality(String) DEFAULT 'backup',
	database String DEFAULT '', kind LowCardinality(String) DEFAULT 'auto', backup String DEFAULT '',
	as_of Nullable(DateTime64(3)) DEFAULT NULL, target String DEFAULT '', dry_run Bool DEFAULT false,
	requested_by String MATERIALIZED currentUser(), requested_at DateTime64(3) MATERIALIZED now64(3))
	ENGINE = MergeTree ORDER BY (requested_at, id)`

// TestRequesterCannotBeForged: a user with only INSERT on requests cannot
// write someone else's name into requested_by, neither with
// insert_allow_materialized_columns = 1 nor through INSERT … SELECT, also on
// a control table made before the constraint existed; honest inserts pass
// and carry the inserter's login.
func TestRequesterCannotBeForged(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(10)
	h.exec("CREATE DATABASE clickvault")
	h.exec(oldRequestsTable)
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, ""), addr)
	mallory := h.as("mallory")
	forgeries := []string{
		"INSERT INTO clickvault.requests (action, database, requested_by) SETTINGS insert_allow_materialized_columns = 1 VALUES ('backup', 'shop', 'alice')",
		"INSERT INTO clickvault.requests (action, database, requested_by) SETTINGS insert_allow_materialized_columns = 1 SELECT 'backup', 'shop', 'clickvault'",
	}
	for _, q := range forgeries {
		err := mallory.Do(h.ctx, ch.Query{Body: q})
		if !ch.IsErr(err, proto.ErrViolatedConstraint) {
			t.Errorf("%s\nwant VIOLATED_CONSTRAINT (469), got %v", q, err)
		}
	}
	honest := h.request(mallory, "action, database", "'backup', 'shop'")
	st := h.waitState(honest, 30*time.Second, "rejected", "succeeded", "failed")
	if st.requestedBy != "mallory" {
		t.Errorf("honest insert: requested_by = %q, want mallory", st.requestedBy)
	}
	if n := h.count("SELECT count() FROM clickvault.requests WHERE requested_by != 'mallory'"); n != 0 {
		t.Fatalf("%d forged requests were stored", n)
	}
}
