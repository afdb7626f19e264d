package clickhouse

import (
	"strings"

	"github.com/clickvault/clickvault/sidecar/control"
)

// grantLevel is how far down a row of system.grants reaches.
type grantLevel int

const (
	levelGlobal grantLevel = iota // ON *.*
	levelDatabase
	levelTable
	levelColumn
)

// grantRow is one row of system.grants, as ClickHouse shows a user's rights
// after it has applied their GRANTs and REVOKEs in order: a grant at the
// broadest level it holds, and partial revokes beneath it.
type grantRow struct {
	source          string // the user or role the row belongs to
	access          string
	database, table string // "" where the row reaches wider
	level           grantLevel
	revoke          bool
	wildcard        bool // database (or table) is a prefix: ON sh*.*
}

// holdsOnEveryTable decides, from a user's rows (theirs and their roles'),
// whether they hold p on every table of database, as ClickHouse would. A
// session's rights are the union of the user's own and each role's, so one
// source that holds it is enough.
func holdsOnEveryTable(rows []grantRow, p control.Privilege, database string) bool {
	return holds(rows, p, database, "")
}

// holds is holdsOnEveryTable for table "", and otherwise whether the rows
// give p on that one table.
func holds(rows []grantRow, p control.Privilege, database, table string) bool {
	bySource := map[string][]grantRow{}
	for _, r := range rows {
		bySource[r.source] = append(bySource[r.source], r)
	}
	for _, own := range bySource {
		if table == "" && sourceHolds(own, p, database) || table != "" && sourceHoldsTable(own, p, database, table) {
			return true
		}
	}
	return false
}

// sourceHoldsTable applies one source's rows to one table: the most
// specific row that reaches the table decides (a table row beats a
// database row, an exact name beats a wildcard prefix), and a revoke of a
// column of the table means not the whole table.
func sourceHoldsTable(rows []grantRow, p control.Privilege, database, table string) bool {
	best, granted := -1, false
	for _, r := range rows {
		if !covers(r.access, p) || r.level == levelColumn {
			continue
		}
		spec, ok := tableSpecificity(r, database, table)
		if ok && (spec > best || spec == best && r.revoke) { // a tie is a refusal, whatever the rows' order
			best, granted = spec, !r.revoke
		}
	}
	if !granted {
		return false
	}
	for _, r := range rows {
		if r.revoke && r.level == levelColumn && covers(r.access, p) && r.database == database && r.table == table {
			return false
		}
	}
	return true
}

// tableSpecificity ranks a row that reaches database.table: global and
// database rows as specificity does, table rows above every one of them.
func tableSpecificity(r grantRow, database, table string) (int, bool) {
	if r.level != levelTable {
		return specificity(r, database)
	}
	if r.database != database {
		return 0, false
	}
	const aboveDatabases = 1 << 20
	switch {
	case r.wildcard && strings.HasPrefix(table, r.table):
		return aboveDatabases + 1 + len(r.table), true
	case !r.wildcard && r.table == table:
		return aboveDatabases + 2 + len(table), true
	}
	return 0, false
}

// sourceHolds applies one user's or role's rows:
//   - at the database level the most specific row that matches decides: an
//     exact database name beats a wildcard prefix, a longer prefix beats a
//     shorter one, and any of them beats ON *.*;
//   - a revoke narrower than the database (a table, a column) inside it
//     means not every table: a BACKUP DATABASE or a restore of it fails;
//   - grants narrower than the database never make up for a missing grant
//     on it.
func sourceHolds(rows []grantRow, p control.Privilege, database string) bool {
	best, granted := -1, false
	for _, r := range rows {
		if !covers(r.access, p) || r.level > levelDatabase {
			continue
		}
		spec, ok := specificity(r, database)
		if !ok {
			continue
		}
		if spec > best || spec == best && r.revoke { // a tie is a refusal, whatever the rows' order
			best, granted = spec, !r.revoke
		}
	}
	if !granted {
		return false
	}
	for _, r := range rows {
		if r.revoke && r.level > levelDatabase && covers(r.access, p) && databaseMatches(r, database) {
			return false
		}
	}
	return true
}

// specificity ranks a database-level or global row that applies to
// database: 0 for ON *.*, 1+len(prefix) for a wildcard, and above any
// prefix for the exact name.
func specificity(r grantRow, database string) (int, bool) {
	if r.level == levelGlobal {
		return 0, true
	}
	if !databaseMatches(r, database) {
		return 0, false
	}
	if r.wildcard {
		return 1 + len(r.database), true
	}
	return 2 + len(database), true
}

func databaseMatches(r grantRow, database string) bool {
	if r.level == levelGlobal {
		return true
	}
	if r.wildcard && r.level == levelDatabase {
		return strings.HasPrefix(database, r.database)
	}
	return r.database == database
}

// covers reports whether a granted (or revoked) access type includes p.
// ALL includes everything; CREATE includes CREATE TABLE (and CREATE
// DATABASE, CREATE VIEW, …); DROP includes DROP TABLE (and DROP DATABASE, …).
func covers(access string, p control.Privilege) bool {
	switch access {
	case "ALL", string(p):
		return true
	case "CREATE", "DROP":
		return strings.HasPrefix(string(p), access+" ")
	case "ALTER", "ALTER TABLE": // ALTER DELETE sits under ALTER TABLE, under ALTER
		return p == control.PrivAlterDelete
	case "SYSTEM", "SYSTEM BACKGROUND": // SYSTEM VIEWS sits under SYSTEM BACKGROUND, under SYSTEM
		return p == privSystemViews
	}
	return false
}
