package nativeserver

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// insertAwaitingData is an INSERT whose rows the client sends as data blocks.
type insertAwaitingData struct {
	statement string // the INSERT without its trailing VALUES / FORMAT x
	table     string // the table expression, verbatim
	columns   string // the column list without parentheses, or "*"
}

// insertPattern matches an INSERT that ends in VALUES or FORMAT name with
// nothing after it: a client that sends such a query sends its rows as
// blocks. An INSERT with inline rows or a SELECT does not match and runs as
// an ordinary statement.
var insertPattern = regexp.MustCompile(`(?is)^\s*(INSERT\s+INTO\s+(?:TABLE\s+)?(.*?))\s+(?:VALUES|FORMAT\s+\w+)\s*;?\s*$`)

func parseInsert(body string) (insertAwaitingData, bool) {
	m := insertPattern.FindStringSubmatch(body)
	if m == nil {
		return insertAwaitingData{}, false
	}
	ins := insertAwaitingData{statement: m[1], table: strings.TrimSpace(m[2]), columns: "*"}
	if open := columnListStart(ins.table); open > 0 {
		ins.columns = strings.TrimSpace(ins.table[open+1 : len(ins.table)-1])
		ins.table = strings.TrimSpace(ins.table[:open])
	}
	return ins, ins.table != ""
}

// columnListStart finds the "(" that opens a trailing column list, or -1.
// It skips quoted names, so `"a(b"` does not count as a parenthesis.
func columnListStart(s string) int {
	if !strings.HasSuffix(s, ")") {
		return -1
	}
	depth, quote := 0, byte(0)
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote && (i == 0 || s[i-1] != '\\') {
				quote = 0
			}
		case c == '"' || c == '`' || c == '\'':
			quote = c
		case c == ')':
			depth++
		case c == '(':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// unquoteLiteral turns a quoted SQL string literal, as clients send query
// parameters ('value'), into its content, undoing ClickHouse's escapes. A
// value without quotes is returned as it is.
func unquoteLiteral(s string) (string, error) {
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return s, nil
	}
	body := s[1 : len(s)-1]
	var out strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\'' && i+1 < len(body) && body[i+1] == '\'':
			out.WriteByte('\'')
			i++
		case c == '\\' && i+1 < len(body):
			n, used, err := unescape(body[i+1:])
			if err != nil {
				return "", fmt.Errorf("unquote %s: %w", s, err)
			}
			out.WriteString(n)
			i += used
		default:
			out.WriteByte(c)
		}
	}
	return out.String(), nil
}

// unescape decodes the escape after a backslash and says how many bytes it used.
func unescape(s string) (string, int, error) {
	simple := map[byte]string{'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t", '0': "\x00", 'a': "\a", 'v': "\v"}
	if v, ok := simple[s[0]]; ok {
		return v, 1, nil
	}
	if s[0] == 'x' && len(s) >= 3 {
		v, err := strconv.ParseUint(s[1:3], 16, 8)
		if err != nil {
			return "", 0, fmt.Errorf("bad \\x escape %q: %w", s[:3], err)
		}
		return string([]byte{byte(v)}), 3, nil
	}
	return s[:1], 1, nil
}

// quoteLiteral makes s a single-quoted SQL string literal.
func quoteLiteral(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(s) + "'"
}

// parseNamesAndTypes reads the header of TSVWithNamesAndTypes output.
func parseNamesAndTypes(out []byte) (names, types []string, err error) {
	lines := strings.SplitN(string(out), "\n", 3)
	if len(lines) < 2 {
		return nil, nil, fmt.Errorf("read insert header: want names and types, got %q", out)
	}
	names = splitTSV(lines[0])
	types = splitTSV(lines[1])
	if len(names) != len(types) {
		return nil, nil, fmt.Errorf("read insert header: %d names but %d types", len(names), len(types))
	}
	return names, types, nil
}

func splitTSV(line string) []string {
	fields := strings.Split(line, "\t")
	r := strings.NewReplacer(`\t`, "\t", `\n`, "\n", `\\`, `\`, `\'`, `'`)
	for i, f := range fields {
		fields[i] = r.Replace(f)
	}
	return fields
}

// insertStatement is the INSERT of ins with an explicit column list: the
// engine reads the rows by position, so the list follows the blocks.
func insertStatement(ins insertAwaitingData, names []string) string {
	prefix := ins.statement
	if ins.columns != "*" {
		prefix = prefix[:columnListStart(prefix)]
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`").Replace(n) + "`"
	}
	return strings.TrimSpace(prefix) + " (" + strings.Join(quoted, ", ") + ")"
}

func blockColumnNames(blocks []block) []string {
	if len(blocks) == 0 {
		return nil
	}
	names := make([]string, len(blocks[0].columns))
	for i, c := range blocks[0].columns {
		names[i] = c.Name
	}
	return names
}
