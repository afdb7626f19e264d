package chdb

import (
	"regexp"
	"runtime"
	"strconv"
	"strings"
)

// QueryError is an exception raised by the engine, in ClickHouse's own text:
// "Code: 62. DB::Exception: Syntax error: … (SYNTAX_ERROR)".
type QueryError struct {
	Text string
}

func (e *QueryError) Error() string { return strings.TrimSpace(e.Text) }

var (
	codePattern = regexp.MustCompile(`Code: (\d+)\.`)
	namePattern = regexp.MustCompile(`\(([A-Z0-9_]+)\)\s*(?:\(version [^)]*\))?\s*$`)
)

// Code is ClickHouse's error code, or 1000 (POCO_EXCEPTION) when the text
// carries none, so that a client always sees a code.
func (e *QueryError) Code() int {
	m := codePattern.FindStringSubmatch(e.Text)
	if m == nil {
		return 1000
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 1000
	}
	return n
}

// Name is the error code's name, such as SYNTAX_ERROR, when the text has it.
func (e *QueryError) Name() string {
	m := namePattern.FindStringSubmatch(strings.TrimSpace(e.Text))
	if m == nil {
		return ""
	}
	return m[1]
}

// Message is the text after "Code: N. ", as ClickHouse sends it in an
// exception packet ("DB::Exception: …").
func (e *QueryError) Message() string {
	text := strings.TrimSpace(e.Text)
	if loc := codePattern.FindStringIndex(text); loc != nil && loc[0] == 0 {
		text = strings.TrimSpace(text[loc[1]:])
	}
	return text
}

func runtimeKeepAlive(x any) { runtime.KeepAlive(x) }
