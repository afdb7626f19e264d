package clickhouse

import (
	"testing"

	"github.com/clickvault/clickvault/sidecar/control"
)

func global(src, access string, revoke bool) grantRow {
	return grantRow{source: src, access: access, level: levelGlobal, revoke: revoke}
}

func onDB(src, access, db string, wildcard, revoke bool) grantRow {
	return grantRow{source: src, access: access, database: db, level: levelDatabase, wildcard: wildcard, revoke: revoke}
}

func onTable(src, access, db, table string, revoke bool) grantRow {
	return grantRow{source: src, access: access, database: db, table: table, level: levelTable, revoke: revoke}
}

// TestHoldsOnEveryTable: the cases of the security review, and how rights
// from several roles add up.
func TestHoldsOnEveryTable(t *testing.T) {
	const u, r1, r2 = "u", "role:a", "role:b"
	cases := []struct {
		name string
		rows []grantRow
		db   string
		want bool
	}{
		{"global grant", []grantRow{global(u, "BACKUP", false)}, "shop", true},
		{"ALL on the database", []grantRow{onDB(u, "ALL", "shop", false, false)}, "shop", true},
		{"other database", []grantRow{onDB(u, "BACKUP", "shop", false, false)}, "shopping", false},
		{"wildcard grant sh*", []grantRow{onDB(u, "BACKUP", "sh", true, false)}, "shop", true},
		{"wildcard grant does not reach hr", []grantRow{onDB(u, "BACKUP", "sh", true, false)}, "hr_payroll", false},
		{"global grant, wildcard revoke hr*", []grantRow{global(u, "BACKUP", false), onDB(u, "BACKUP", "hr", true, true)}, "hr_payroll", false},
		{"global grant, wildcard revoke hr*, other db", []grantRow{global(u, "BACKUP", false), onDB(u, "BACKUP", "hr", true, true)}, "shop", true},
		{"revoke hr*, grant back hr_pub", []grantRow{global(u, "BACKUP", false), onDB(u, "BACKUP", "hr", true, true),
			onDB(u, "BACKUP", "hr_pub", false, false)}, "hr_pub", true},
		{"longer prefix wins", []grantRow{onDB(u, "BACKUP", "h", true, false), onDB(u, "BACKUP", "hr", true, true)}, "hr_x", false},
		{"exact revoke under a global grant", []grantRow{global(u, "BACKUP", false), onDB(u, "BACKUP", "shop", false, true)}, "shop", false},
		{"table revoke: not every table", []grantRow{onDB(u, "BACKUP", "shop", false, false), onTable(u, "BACKUP", "shop", "orders", true)}, "shop", false},
		{"table grant is not the database", []grantRow{onTable(u, "BACKUP", "shop", "orders", false)}, "shop", false},
		{"other privilege", []grantRow{onDB(u, "SELECT", "shop", false, false)}, "shop", false},
		{"a role adds what the user lacks", []grantRow{onDB(u, "SELECT", "shop", false, false), onDB(r1, "BACKUP", "shop", false, false)}, "shop", true},
		{"one role's revoke does not undo another's grant", []grantRow{global(r1, "BACKUP", false), onDB(r1, "BACKUP", "sh", true, true),
			onDB(r2, "BACKUP", "s", true, false)}, "shop", true},
		{"no rows", nil, "shop", false},
		{"a row of another privilege first", []grantRow{onDB(u, "SELECT", "shop", false, false), onDB(u, "BACKUP", "shop", false, false)}, "shop", true},
		{"a row of another database first", []grantRow{onDB(u, "BACKUP", "hr", false, false), onDB(u, "BACKUP", "shop", false, false)}, "shop", true},
		{"a tie is a refusal, revoke first", []grantRow{onDB(u, "BACKUP", "shop", false, true), onDB(u, "ALL", "shop", false, false)}, "shop", false},
		{"a tie is a refusal, grant first", []grantRow{onDB(u, "ALL", "shop", false, false), onDB(u, "BACKUP", "shop", false, true)}, "shop", false},
	}
	for _, c := range cases {
		if got := holdsOnEveryTable(c.rows, control.PrivBackup, c.db); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// TestHoldsOnOneTable: a table row beats the database's, a column revoke
// takes the whole table away, a table wildcard reaches by prefix.
func TestHoldsOnOneTable(t *testing.T) {
	const u = "u"
	column := grantRow{source: u, access: "SELECT", database: "shop", table: "orders", level: levelColumn, revoke: true}
	wild := grantRow{source: u, access: "SELECT", database: "shop", table: "ord", level: levelTable, wildcard: true}
	cases := []struct {
		name  string
		rows  []grantRow
		table string
		want  bool
	}{
		{"database grant reaches the table", []grantRow{onDB(u, "SELECT", "shop", false, false)}, "orders", true},
		{"table grant alone", []grantRow{onTable(u, "SELECT", "shop", "orders", false)}, "orders", true},
		{"table grant is not another table", []grantRow{onTable(u, "SELECT", "shop", "orders", false)}, "items", false},
		{"table revoke under a database grant", []grantRow{onDB(u, "SELECT", "shop", false, false), onTable(u, "SELECT", "shop", "orders", true)}, "orders", false},
		{"table revoke leaves other tables", []grantRow{onDB(u, "SELECT", "shop", false, false), onTable(u, "SELECT", "shop", "orders", true)}, "items", true},
		{"column revoke: not the whole table", []grantRow{onDB(u, "SELECT", "shop", false, false), column}, "orders", false},
		{"table wildcard", []grantRow{wild}, "orders_2024", true},
		{"table wildcard does not reach others", []grantRow{wild}, "items", false},
		{"global grant, table in another database", []grantRow{global(u, "SELECT", false), onTable(u, "SELECT", "hr", "pay", true)}, "orders", true},
		{"another privilege on the table", []grantRow{onTable(u, "INSERT", "shop", "orders", false)}, "orders", false},
		{"a column grant is not the table", []grantRow{{source: u, access: "SELECT", database: "shop", table: "orders", level: levelColumn}}, "orders", false},
		{"a row of another privilege first", []grantRow{onDB(u, "INSERT", "shop", false, false), onDB(u, "SELECT", "shop", false, false)}, "orders", true},
		{"an exact revoke beats a wildcard grant", []grantRow{wild, onTable(u, "SELECT", "shop", "orders", true)}, "orders", false},
		{"an exact grant beats a wildcard revoke of the whole name", []grantRow{
			{source: u, access: "SELECT", database: "shop", table: "orders", level: levelTable, wildcard: true, revoke: true},
			onTable(u, "SELECT", "shop", "orders", false)}, "orders", true},
		{"a longer wildcard beats a shorter", []grantRow{
			{source: u, access: "SELECT", database: "shop", table: "o", level: levelTable, wildcard: true},
			{source: u, access: "SELECT", database: "shop", table: "ord", level: levelTable, wildcard: true, revoke: true}}, "orders", false},
		{"a tie is a refusal, revoke first", []grantRow{onTable(u, "SELECT", "shop", "orders", true), onTable(u, "ALL", "shop", "orders", false)}, "orders", false},
		{"a tie is a refusal, grant first", []grantRow{onTable(u, "ALL", "shop", "orders", false), onTable(u, "SELECT", "shop", "orders", true)}, "orders", false},
	}
	for _, c := range cases {
		if got := holds(c.rows, control.PrivSelect, "shop", c.table); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCoversCreate(t *testing.T) {
	if !covers("CREATE", control.PrivCreate) || covers("CREATE", control.PrivInsert) || !covers("ALL", control.PrivInsert) ||
		!covers("DROP", control.PrivDropTable) || covers("DROP", control.PrivBackup) ||
		!covers("ALTER", control.PrivAlterDelete) || !covers("ALTER TABLE", control.PrivAlterDelete) ||
		!covers("ALTER DELETE", control.PrivAlterDelete) || covers("ALTER UPDATE", control.PrivAlterDelete) || covers("ALTER", control.PrivInsert) ||
		!covers("SYSTEM", privSystemViews) || !covers("SYSTEM BACKGROUND", privSystemViews) || covers("SYSTEM", control.PrivBackup) {
		t.Fatal("CREATE covers CREATE TABLE and DROP covers DROP TABLE only; ALL covers everything")
	}
}
