package testbed

import (
	"reflect"
	"strings"
	"testing"
)

// TestParseGrantsSQL: a role's grants reach each user granted the role, in
// the file's order, and passwords come from IDENTIFIED … BY.
func TestParseGrantsSQL(t *testing.T) {
	a, err := ParseGrantsSQL(`
-- a comment; with a semicolon
CREATE USER IF NOT EXISTS svc IDENTIFIED WITH sha256_password BY 'svc-pw';
GRANT BACKUP ON shop.* TO svc;   -- trailing comment
CREATE ROLE IF NOT EXISTS asker;
GRANT INSERT ON cv.requests TO asker;
GRANT SELECT ON cv.* TO asker;
CREATE USER bob IDENTIFIED WITH sha256_password BY 'b;o--b';
GRANT asker TO bob;
SET DEFAULT ROLE asker TO bob;
GRANT CREATE TABLE, INSERT ON shop_restored.* TO bob, svc;
CREATE ROW POLICY IF NOT EXISTS own ON cv.requests USING who = currentUser() TO asker;
CREATE ROW POLICY IF NOT EXISTS rest ON cv.requests USING 1 TO ALL EXCEPT asker;
`)
	if err != nil {
		t.Fatal(err)
	}
	wantUsers := map[string]string{"svc": "svc-pw", "bob": "b;o--b"}
	if !reflect.DeepEqual(a.Users, wantUsers) {
		t.Errorf("users = %v, want %v", a.Users, wantUsers)
	}
	wantGrants := map[string][]string{
		"svc": {"BACKUP ON shop.*", "CREATE TABLE, INSERT ON shop_restored.*"},
		"bob": {"CREATE TABLE, INSERT ON shop_restored.*", "INSERT ON cv.requests", "SELECT ON cv.*"},
	}
	if !reflect.DeepEqual(a.Grants, wantGrants) {
		t.Errorf("grants = %v, want %v", a.Grants, wantGrants)
	}
	wantFilters := map[string]map[string]string{"bob": {"cv.requests": "who = currentUser()"}, "svc": {"cv.requests": "1"}}
	if !reflect.DeepEqual(a.Filters, wantFilters) {
		t.Errorf("row filters = %v, want %v", a.Filters, wantFilters)
	}
}

// TestParseGrantsSQLRefusesWhatItCannotApply: a statement the test bed does
// not understand fails the parse, so grants.sql cannot hold a right the
// tests never see.
func TestParseGrantsSQLRefusesWhatItCannotApply(t *testing.T) {
	for _, stmt := range []string{
		"ALTER USER x DEFAULT ROLE ALL",
		"CREATE ROW POLICY p ON cv.requests USING 1 TO ALL EXCEPT a, b",
		"GRANT nosuchrole TO bob",
	} {
		if _, err := ParseGrantsSQL(stmt + ";"); err == nil || !strings.Contains(err.Error(), stmt[:10]) {
			t.Errorf("%q: want an error naming it, got %v", stmt, err)
		}
	}
}

// TestDeployGrantsParse: deploy/grants.sql is what the test bed applies;
// it must parse, and give the sidecar and the sample requester rights.
func TestDeployGrantsParse(t *testing.T) {
	a, err := DeployAccess()
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"clickvault", "analyst"} {
		if a.Users[user] == "" || len(a.Grants[user]) == 0 {
			t.Errorf("grants.sql: user %s has no password or no grants: %q", user, a.Grants[user])
		}
	}
}
