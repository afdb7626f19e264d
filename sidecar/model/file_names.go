package model

import (
	"strconv"
	"strings"
)

// CountFile recognises data/<database>/<table>/<part>/count.txt of the
// backup's database and returns the table.
func CountFile(name, database string) (string, bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 5 || parts[0] != "data" || parts[4] != "count.txt" || unescapeFileName(parts[1]) != database {
		return "", false
	}
	return unescapeFileName(parts[2]), true
}

// unescapeFileName undoes ClickHouse's escapeForFileName, which writes
// every byte but letters, digits and _ as %XX.
func unescapeFileName(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				out = append(out, byte(v))
				i += 2
				continue
			}
		}
		out = append(out, s[i])
	}
	return string(out)
}
