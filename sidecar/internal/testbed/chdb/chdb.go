// Package chdb binds the two entry points of libchdb (the ClickHouse engine as
// a shared library) that the test bed's engine process needs, with purego (no
// cgo). ClickVault itself never loads it: it speaks ClickHouse's native TCP
// protocol to the server this library runs.
package chdb

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"github.com/ebitengine/purego"
	"golang.org/x/sys/unix"
)

// Library is libchdb loaded into this process.
type Library struct {
	connect            func(argc int, argv []*byte) unsafe.Pointer
	closeConn          func(conn unsafe.Pointer)
	queryCmdline       func(argc int, argv []*byte) unsafe.Pointer
	resultError        func(res unsafe.Pointer) *byte
	destroyQueryResult func(res unsafe.Pointer)
}

// Load opens libPath. The names and argument lists follow chdb.h of libchdb
// 26.7.
func Load(libPath string) (*Library, error) {
	if _, err := os.Stat(libPath); err != nil {
		return nil, fmt.Errorf("find libchdb: %w", err)
	}
	handle, err := purego.Dlopen(libPath, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("load libchdb %s: %w", libPath, err)
	}
	l := &Library{}
	for _, r := range []struct {
		fn   any
		name string
	}{
		{&l.connect, "chdb_connect"},
		{&l.closeConn, "chdb_close_conn"},
		{&l.queryCmdline, "chdb_query_cmdline"},
		{&l.resultError, "chdb_result_error"},
		{&l.destroyQueryResult, "chdb_destroy_query_result"},
	} {
		addr, err := purego.Dlsym(handle, r.name)
		if err != nil {
			return nil, fmt.Errorf("find symbol %s in %s (is it libchdb 26.7?): %w", r.name, libPath, err)
		}
		purego.RegisterFunc(r.fn, addr)
	}
	return l, nil
}

// InitBackupPool opens and closes one embedded connection with its data in
// scratchDir. clickhouse-local does not start the backups I/O thread pool,
// so without this every BACKUP … TO S3 fails with "The BackupsIOThreadPool is
// not initialized"; the embedded server starts it, and it stays up after the
// close. (Keeping the connection open instead trips a singleton assertion.)
func (l *Library) InitBackupPool(scratchDir string) error {
	argv := cArgs([]string{"clickhouse", "--path=" + scratchDir})
	ref := l.connect(len(argv), argv)
	if ref == nil || *(*unsafe.Pointer)(ref) == nil {
		return errors.New("open a scratch libchdb connection: chdb_connect returned no connection")
	}
	l.closeConn(ref)
	return nil
}

// RunCmdline runs clickhouse-local with args (args[0] is the program name)
// and returns when it exits, with its error if it reported one.
func (l *Library) RunCmdline(args []string) error {
	argv := cArgs(args)
	res := l.queryCmdline(len(argv), argv)
	if res == nil {
		return nil
	}
	defer l.destroyQueryResult(res)
	if msg := goString(l.resultError(res)); msg != "" {
		return fmt.Errorf("clickhouse-local: %s", msg)
	}
	return nil
}

// cArgs makes NUL-terminated copies of args; the slices stay reachable from
// the returned array for as long as the caller holds it.
func cArgs(args []string) []*byte {
	argv := make([]*byte, len(args))
	for i, a := range args {
		b := make([]byte, len(a)+1)
		copy(b, a)
		argv[i] = &b[0]
	}
	return argv
}

// goString copies a C string ("" for nil) without pointer arithmetic of our own.
func goString(p *byte) string { return unix.BytePtrToString(p) }
