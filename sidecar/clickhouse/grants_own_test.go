package clickhouse

import "testing"

// Rows as system.grants has them on 26.7 (access_object): SET DEFINER ON
// eve is ('eve'), ON * and ALL ON *.* are (”), ON dev* is ('dev', wildcard).
func TestHoldsObject(t *testing.T) {
	g := func(source, object string, revoke, wildcard bool) objectGrant {
		return objectGrant{source: source, object: object, revoke: revoke, wildcard: wildcard}
	}
	cases := []struct {
		name   string
		rows   []objectGrant
		object string
		want   bool
	}{
		{"none", nil, "admin", false},
		{"that user", []objectGrant{g("cv", "eve", false, false)}, "eve", true},
		{"another user", []objectGrant{g("cv", "eve", false, false)}, "admin", false},
		{"every user", []objectGrant{g("cv", "", false, false)}, "admin", true},
		{"every user but one", []objectGrant{g("cv", "", false, false), g("cv", "admin", true, false)}, "admin", false},
		{"prefix", []objectGrant{g("cv", "view_", false, true)}, "view_owner", true},
		{"prefix, another", []objectGrant{g("cv", "view_", false, true)}, "admin", false},
		{"revoked for the user, granted by a role", []objectGrant{g("cv", "", false, false), g("cv", "admin", true, false),
			g("role:r", "admin", false, false)}, "admin", true},
	}
	for _, c := range cases {
		if got := holdsObject(c.rows, c.object); got != c.want {
			t.Errorf("%s: holds %v, want %v", c.name, got, c.want)
		}
	}
}
