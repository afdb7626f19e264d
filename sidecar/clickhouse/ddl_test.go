package clickhouse

import (
	"strings"
	"testing"
)

// TestRequestsDDLHasRequesterCheck: new installations get the requester
// constraint in the table itself, old ones through an idempotent migration.
func TestRequestsDDLHasRequesterCheck(t *testing.T) {
	stmts, err := DDL("cv")
	if err != nil {
		t.Fatal(err)
	}
	var create, migrate bool
	for _, s := range stmts {
		has := strings.Contains(s, "requested_by_is_login CHECK requested_by = currentUser()")
		create = create || (has && strings.HasPrefix(s, "-- Users write here") && strings.Contains(s, "CREATE TABLE IF NOT EXISTS `cv`.requests"))
		migrate = migrate || (has && strings.Contains(s, "ADD CONSTRAINT IF NOT EXISTS"))
	}
	if !create || !migrate {
		t.Fatalf("requester check in CREATE TABLE: %v, in the migration: %v", create, migrate)
	}
}
