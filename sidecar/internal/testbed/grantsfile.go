package testbed

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Access is a set of logins with their passwords, grants and row filters.
type Access struct {
	Users  map[string]string   // login → password
	Grants map[string][]string // login → "PRIVILEGES ON target", in order
	// Filters are row policies as the users file has them: login →
	// "db.table" → the condition a row must meet to be seen.
	Filters map[string]map[string]string
}

// DeployGrantsPath is deploy/grants.sql of this checkout: the single source
// of the sidecar's and the requesters' rights.
func DeployGrantsPath() string { return filepath.Join(moduleDir(), "deploy", "grants.sql") }

// DeployAccess reads deploy/grants.sql into the users and grants the test
// bed gives its server.
func DeployAccess() (Access, error) {
	data, err := os.ReadFile(DeployGrantsPath())
	if err != nil {
		return Access{}, fmt.Errorf("read deploy/grants.sql: %w", err)
	}
	a, err := ParseGrantsSQL(string(data))
	if err != nil {
		return Access{}, fmt.Errorf("read deploy/grants.sql: %w", err)
	}
	return a, nil
}

var (
	createUserRe = regexp.MustCompile(`(?is)^CREATE USER (?:IF NOT EXISTS )?(\w+) IDENTIFIED WITH \w+ BY '([^']*)'$`)
	createRoleRe = regexp.MustCompile(`(?is)^CREATE ROLE (?:IF NOT EXISTS )?(\w+)$`)
	grantOnRe    = regexp.MustCompile(`(?is)^GRANT (.+? ON \S+) TO (\w+(?:\s*,\s*\w+)*)$`)
	grantRoleRe  = regexp.MustCompile(`(?is)^GRANT (\w+) TO (\w+)$`)
	rowPolicyRe  = regexp.MustCompile(`(?is)^CREATE ROW POLICY (?:IF NOT EXISTS )?\w+ ON (\w+\.\w+) (?:FOR SELECT )?USING (.+?) (?:AS PERMISSIVE )?TO (ALL EXCEPT )?(\w+)$`)
	defaultRole  = regexp.MustCompile(`(?is)^SET DEFAULT ROLE \w+ TO \w+$`)
	revokeRe     = regexp.MustCompile(`(?is)^REVOKE (.+? ON \S+) FROM (\w+)$`)
	dropPolicyRe = regexp.MustCompile(`(?is)^DROP ROW POLICY IF EXISTS \w+ ON \w+\.\w+$`)
)

// ParseGrantsSQL reads the statements of a grants file: CREATE USER … BY
// 'password', CREATE ROLE, GRANT … ON … TO users or roles, GRANT role TO
// user, SET DEFAULT ROLE, and CREATE ROW POLICY … ON db.table USING … TO
// role (or TO ALL EXCEPT role); REVOKE … FROM a role of a grant it was given
// above, and DROP ROW POLICY IF EXISTS (for installations of earlier
// versions; the test bed starts empty), which change nothing here. The server's users file has no roles, so a
// role's grants and row policies go to each user granted it, as the role
// would give them (every role of grants.sql is a default role); a policy
// TO ALL EXCEPT a role goes to every other user the file creates. Any other
// statement is an error, so the file and what the test bed applies cannot
// drift apart unnoticed.
func ParseGrantsSQL(text string) (Access, error) {
	a := Access{Users: map[string]string{}, Grants: map[string][]string{}, Filters: map[string]map[string]string{}}
	roles := map[string][]string{}   // role → its grants
	members := map[string][]string{} // user → roles granted to them
	var policies []rowPolicy
	for _, stmt := range sqlStatements(text) {
		switch {
		case createUserRe.MatchString(stmt):
			m := createUserRe.FindStringSubmatch(stmt)
			a.Users[m[1]] = m[2]
		case createRoleRe.MatchString(stmt):
			roles[createRoleRe.FindStringSubmatch(stmt)[1]] = nil
		case grantOnRe.MatchString(stmt):
			m := grantOnRe.FindStringSubmatch(stmt)
			for _, to := range strings.Split(m[2], ",") {
				to = strings.TrimSpace(to)
				if _, isRole := roles[to]; isRole {
					roles[to] = append(roles[to], m[1])
				} else {
					a.Grants[to] = append(a.Grants[to], m[1])
				}
			}
		case grantRoleRe.MatchString(stmt):
			m := grantRoleRe.FindStringSubmatch(stmt)
			if _, isRole := roles[m[1]]; !isRole {
				return Access{}, fmt.Errorf("GRANT %s TO %s: %s is not a role created above", m[1], m[2], m[1])
			}
			members[m[2]] = append(members[m[2]], m[1])
		case defaultRole.MatchString(stmt), dropPolicyRe.MatchString(stmt):
		case revokeRe.MatchString(stmt):
			m := revokeRe.FindStringSubmatch(stmt)
			if _, isRole := roles[m[2]]; !isRole {
				return Access{}, fmt.Errorf("REVOKE … FROM %s: %s is not a role created above", m[2], m[2])
			}
			roles[m[2]] = slices.DeleteFunc(roles[m[2]], func(g string) bool { return strings.EqualFold(g, m[1]) })
		case rowPolicyRe.MatchString(stmt):
			m := rowPolicyRe.FindStringSubmatch(stmt)
			policies = append(policies, rowPolicy{table: m[1], condition: m[2], except: m[3] != "", to: m[4]})
		default:
			return Access{}, fmt.Errorf("statement the test bed cannot apply: %q", stmt)
		}
	}
	for user, rs := range members {
		for _, r := range rs {
			a.Grants[user] = append(a.Grants[user], roles[r]...)
		}
	}
	for _, p := range policies {
		for user := range a.Users {
			if p.appliesTo(user, members[user]) {
				if a.Filters[user] == nil {
					a.Filters[user] = map[string]string{}
				}
				a.Filters[user][p.table] = p.condition
			}
		}
	}
	return a, nil
}

// rowPolicy is one CREATE ROW POLICY of a grants file.
type rowPolicy struct {
	table, condition, to string
	except               bool // TO ALL EXCEPT to
}

func (p rowPolicy) appliesTo(user string, roles []string) bool {
	if strings.EqualFold(p.to, "ALL") && !p.except {
		return true
	}
	named := user == p.to || slices.Contains(roles, p.to)
	return named != p.except
}

// sqlStatements splits text at semicolons outside quotes, dropping
// comments and collapsing white space.
func sqlStatements(text string) []string {
	var out []string
	var cur strings.Builder
	inQuote := false
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '\'':
			inQuote = !inQuote
		case !inQuote && c == '-' && i+1 < len(text) && text[i+1] == '-':
			for i < len(text) && text[i] != '\n' {
				i++
			}
			c = ' '
		case !inQuote && c == ';':
			if s := strings.Join(strings.Fields(cur.String()), " "); s != "" {
				out = append(out, s)
			}
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	if s := strings.Join(strings.Fields(cur.String()), " "); s != "" {
		out = append(out, s)
	}
	return out
}
