package nativeserver

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/testbed/chdb"
)

// The engine runs every statement as "default": clickhouse-local cannot
// impersonate. So that a column `MATERIALIZED currentUser()` records who
// really inserted, the front end fills such columns itself with the login
// of the connection, for INSERTs from any other user. This is the one place
// where the test bed stands in for the server; it exists so per-user
// requests can be tested, and is documented in the README.

const defaultUser = "default"

// currentUserColumns names the columns of table that are MATERIALIZED
// currentUser(). table is the INSERT's table expression.
func (c *session) currentUserColumns(table string) ([]string, error) {
	db, name := splitTable(table)
	res, err := c.srv.withSettings(nil, func() (*chdb.Result, error) {
		return c.srv.engine.Query(`SELECT name FROM system.columns WHERE database = {db:String}
			AND table = {t:String} AND default_kind = 'MATERIALIZED' AND default_expression = 'currentUser()'`,
			"TSV", []chdb.Param{{Name: "db", Value: db}, {Name: "t", Value: name}})
	})
	if err != nil {
		return nil, err
	}
	var cols []string
	for _, line := range strings.Split(strings.TrimSpace(string(res.Data)), "\n") {
		if line != "" {
			cols = append(cols, line)
		}
	}
	return cols, nil
}

// splitTable reads db.table with optional quotes; no database means default.
func splitTable(expr string) (string, string) {
	parts := strings.SplitN(expr, ".", 2)
	unquote := func(s string) string { return strings.Trim(strings.TrimSpace(s), "`\"") }
	if len(parts) == 1 {
		return "default", unquote(parts[0])
	}
	return unquote(parts[0]), unquote(parts[1])
}

// withUserColumns adds a column holding user to every block.
func withUserColumns(blocks []block, cols []string, user string) []block {
	for i := range blocks {
		for _, name := range cols {
			var v proto.ColStr
			for r := 0; r < blocks[i].rows; r++ {
				v.Append(user)
			}
			blocks[i].columns = append(blocks[i].columns, proto.InputColumn{Name: name, Data: &v})
		}
	}
	return blocks
}

// insertAsUser inserts blocks, filling currentUser() columns with the
// connection's user.
func (c *session) insertAsUser(q proto.Query, ins insertAwaitingData, blocks []block, cols []string) (*chdb.Result, error) {
	blocks = withUserColumns(blocks, cols, c.user)
	data, err := encodeNative(blocks)
	if err != nil {
		return nil, err
	}
	statement := insertStatement(ins, blockColumnNames(blocks))
	settings := append([]proto.Setting{{Key: "insert_allow_materialized_columns", Value: "1"}}, q.Settings...)
	return c.srv.withSettings(settings, func() (*chdb.Result, error) {
		return c.srv.engine.Insert(statement, data)
	})
}

var inlineValuesPattern = regexp.MustCompile(`(?is)^\s*(INSERT\s+INTO\s+(?:TABLE\s+)?(.*?))\s+VALUES\s*(\(.*)$`)

// inlineValuesAsUser handles INSERT … VALUES (…) from a user other than
// default into a table with currentUser() columns: the rows are parsed by
// the engine with format(Values, …) and inserted as blocks. It reports
// false when the statement is not such an INSERT.
func (c *session) inlineValuesAsUser(q proto.Query) (*chdb.Result, bool, error) {
	m := inlineValuesPattern.FindStringSubmatch(q.Body)
	if m == nil || c.user == defaultUser {
		return nil, false, nil
	}
	ins, ok := parseInsert(m[1] + " VALUES")
	if !ok {
		return nil, false, nil
	}
	cols, err := c.currentUserColumns(ins.table)
	if err != nil || len(cols) == 0 {
		return nil, false, err
	}
	header, err := c.insertHeader(ins, nil)
	if err != nil {
		return nil, true, err
	}
	var structure []string
	for _, col := range header.columns {
		structure = append(structure, fmt.Sprintf("`%s` %s", col.Name, col.Data.Type()))
	}
	res, err := c.srv.withSettings(nil, func() (*chdb.Result, error) {
		return c.srv.engine.Query("SELECT * FROM format(Values, {s:String}, {d:String})", "Native",
			[]chdb.Param{{Name: "s", Value: strings.Join(structure, ", ")}, {Name: "d", Value: chdb.EscapeText(m[3])}})
	})
	if err != nil {
		return nil, true, err
	}
	blocks, err := decodeNative(res.Data)
	if err != nil {
		return nil, true, err
	}
	res, err = c.insertAsUser(q, ins, blocks, cols)
	return res, true, err
}
