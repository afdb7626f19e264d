// Package chdb binds libchdb, the ClickHouse engine as a shared library, with
// purego (no cgo). It is used only by the test bed's engine process: ClickVault
// itself always speaks the native TCP protocol to a ClickHouse server.
//
// libchdb allows one open connection per process, and a connection runs one
// statement at a time, so Engine serialises every call behind a mutex.
package chdb

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// symbols are the libchdb functions the engine needs. The names and argument
// lists follow chdb.h of libchdb 26.7.
type symbols struct {
	connect           func(argc int, argv []*byte) unsafe.Pointer
	closeConn         func(conn unsafe.Pointer)
	queryWithParamsN  func(conn unsafe.Pointer, query *byte, queryLen uintptr, format *byte, formatLen uintptr, names **byte, nameLens *uintptr, values **byte, valueLens *uintptr, count uintptr) unsafe.Pointer
	destroyResult     func(res unsafe.Pointer)
	resultBuffer      func(res unsafe.Pointer) unsafe.Pointer
	resultLength      func(res unsafe.Pointer) uintptr
	resultError       func(res unsafe.Pointer) *byte
	resultRowsRead    func(res unsafe.Pointer) uint64
	resultBytesRead   func(res unsafe.Pointer) uint64
	resultRowsWritten func(res unsafe.Pointer) uint64
}

func loadSymbols(libPath string) (*symbols, error) {
	if _, err := os.Stat(libPath); err != nil {
		return nil, fmt.Errorf("find libchdb: %w", err)
	}
	lib, err := purego.Dlopen(libPath, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("load libchdb %s: %w", libPath, err)
	}
	s := &symbols{}
	register := []struct {
		fn   any
		name string
	}{
		{&s.connect, "chdb_connect"},
		{&s.closeConn, "chdb_close_conn"},
		{&s.queryWithParamsN, "chdb_query_with_params_n"},
		{&s.destroyResult, "chdb_destroy_query_result"},
		{&s.resultBuffer, "chdb_result_buffer"},
		{&s.resultLength, "chdb_result_length"},
		{&s.resultError, "chdb_result_error"},
		{&s.resultRowsRead, "chdb_result_rows_read"},
		{&s.resultBytesRead, "chdb_result_bytes_read"},
		{&s.resultRowsWritten, "chdb_result_rows_written"},
	}
	for _, r := range register {
		addr, err := purego.Dlsym(lib, r.name)
		if err != nil {
			return nil, fmt.Errorf("find symbol %s in %s (is it libchdb 26.7?): %w", r.name, libPath, err)
		}
		purego.RegisterFunc(r.fn, addr)
	}
	return s, nil
}

// Engine is one open libchdb connection with its data in a directory.
type Engine struct {
	mu   sync.Mutex
	sym  *symbols
	conn unsafe.Pointer // chdb_connection (the handle, not the pointer to it)
	ref  unsafe.Pointer // chdb_connection*, as returned by chdb_connect
}

// Open loads libPath and opens a connection with its data under dataDir.
// Extra arguments are passed to the engine like clickhouse-local flags.
func Open(libPath, dataDir string, extraArgs ...string) (*Engine, error) {
	sym, err := loadSymbols(libPath)
	if err != nil {
		return nil, err
	}
	args := append([]string{"clickhouse", "--path=" + dataDir}, extraArgs...)
	argv := make([]*byte, len(args))
	for i, a := range args {
		argv[i] = cString(a)
	}
	ref := sym.connect(len(argv), argv)
	if ref == nil {
		return nil, errors.New("open libchdb connection: chdb_connect returned NULL")
	}
	conn := *(*unsafe.Pointer)(ref)
	if conn == nil {
		return nil, errors.New("open libchdb connection: empty connection handle")
	}
	return &Engine{sym: sym, conn: conn, ref: ref}, nil
}

// Close closes the connection. The engine cannot be reopened in this process.
func (e *Engine) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ref != nil {
		e.sym.closeConn(e.ref)
		e.ref, e.conn = nil, nil
	}
}

// Result is the output of one statement.
type Result struct {
	Data        []byte // output in the requested format
	RowsRead    uint64
	BytesRead   uint64
	RowsWritten uint64
}

// Param is one named query parameter; Value is in the engine's escaped-text
// form (what `{name:Type}` parses), not a quoted SQL literal.
type Param struct {
	Name  string
	Value string
}

// Query runs one statement and returns its whole output in format.
func (e *Engine) Query(query, format string, params []Param) (*Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn == nil {
		return nil, errors.New("run query: engine is closed")
	}
	q, f := []byte(query), []byte(format)
	names, nameLens, values, valueLens := paramArrays(params)
	res := e.sym.queryWithParamsN(e.conn, ptr(q), uintptr(len(q)), ptr(f), uintptr(len(f)),
		first(names), first(nameLens), first(values), first(valueLens), uintptr(len(params)))
	keepAlive(q, f, names, values, params)
	return e.takeResult(res)
}

func (e *Engine) takeResult(res unsafe.Pointer) (*Result, error) {
	if res == nil {
		return nil, errors.New("run query: engine returned no result")
	}
	defer e.sym.destroyResult(res)
	if msg := goString(e.sym.resultError(res)); msg != "" {
		return nil, &QueryError{Text: msg}
	}
	out := &Result{
		RowsRead:    e.sym.resultRowsRead(res),
		BytesRead:   e.sym.resultBytesRead(res),
		RowsWritten: e.sym.resultRowsWritten(res),
	}
	if n := e.sym.resultLength(res); n > 0 {
		buf := e.sym.resultBuffer(res)
		out.Data = append([]byte(nil), unsafe.Slice((*byte)(buf), n)...)
	}
	return out, nil
}

// Insert runs statement ("INSERT INTO t (a, b)", with its column list)
// with the rows of data, in Native format, in the order of the columns.
//
// The rows travel as a bound parameter read by format(Native, …): binary
// safe, and not subject to max_query_size, which cuts data written inline
// after FORMAT. libchdb's streaming-insert API is not used: after a
// BACKUP … ASYNC it takes the still-running query's id, fails, and leaves
// the session failing every statement.
func (e *Engine) Insert(statement string, data []byte) (*Result, error) {
	query := statement + " SELECT * FROM format(Native, {clickvault_rows:String})"
	return e.Query(query, "Native", []Param{{Name: "clickvault_rows", Value: EscapeText(string(data))}})
}

// EscapeText writes s in the escaped-text form query parameters take.
func EscapeText(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`).Replace(s)
}

func paramArrays(params []Param) (names []*byte, nameLens []uintptr, values []*byte, valueLens []uintptr) {
	for _, p := range params {
		names = append(names, cString(p.Name))
		nameLens = append(nameLens, uintptr(len(p.Name)))
		values = append(values, cString(p.Value))
		valueLens = append(valueLens, uintptr(len(p.Value)))
	}
	return names, nameLens, values, valueLens
}

// cString returns a NUL-terminated copy of s; libchdb may read it as a C string.
func cString(s string) *byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return &b[0]
}

func ptr(b []byte) *byte {
	if len(b) == 0 {
		return cString("")
	}
	return &b[0]
}

func first[T any](s []T) *T {
	if len(s) == 0 {
		return nil
	}
	return &s[0]
}

func goString(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}

// keepAlive keeps Go memory handed to C alive until the call returned.
func keepAlive(v ...any) {
	for _, x := range v {
		runtimeKeepAlive(x)
	}
}
