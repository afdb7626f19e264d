package clickhouse

import (
	"strings"
	"testing"
)

// TestRequestsDDLHasRequesterCheck: new installations get the identity
// constraints in the table itself, old ones through an idempotent migration.
func TestRequestsDDLHasRequesterCheck(t *testing.T) {
	stmts, err := DDL("cv", 90)
	if err != nil {
		t.Fatal(err)
	}
	var create, migrate bool
	for _, s := range stmts {
		has := strings.Contains(s, "requested_by_is_authenticated CHECK requested_by = authenticatedUser()") &&
			strings.Contains(s, "query_id_is_the_insert CHECK query_id = queryID()") &&
			strings.Contains(s, "requested_at_is_now CHECK")
		create = create || (has && strings.HasPrefix(s, "-- Users write here") && strings.Contains(s, "CREATE TABLE IF NOT EXISTS `cv`.requests") &&
			strings.Contains(s, "requested_by String MATERIALIZED authenticatedUser()"))
		migrate = migrate || (has && strings.Contains(s, "ADD CONSTRAINT IF NOT EXISTS"))
	}
	if !create || !migrate {
		t.Fatalf("requester check in CREATE TABLE: %v, in the migration: %v", create, migrate)
	}
}
