// Command testbed-clickhouse runs ClickHouse's own TCP and HTTP server from
// libchdb, for ClickVault's tests and playground: real logins, grants
// enforced, each statement run as the login of its session, sessions in
// parallel. It is not a ClickHouse server for production use.
//
// It prints "ready addr=HOST:PORT http=HOST:PORT version=V" on stdout once
// the server accepts logins; everything else the server prints goes to
// stderr. SIGINT or SIGTERM stops it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/clickvault/clickvault/sidecar/internal/testbed/chdb"
)

type options struct {
	lib, data, config, host string
	tcpPort, httpPort       int
	readyUser, readyPass    string
}

func main() {
	var opts options
	flag.StringVar(&opts.lib, "lib", "", "path of libchdb.so")
	flag.StringVar(&opts.data, "data", "", "data directory of the server")
	flag.StringVar(&opts.config, "config", "", "server config file (it names the users file)")
	flag.StringVar(&opts.host, "host", "127.0.0.1", "address to listen on")
	flag.IntVar(&opts.tcpPort, "tcp-port", 0, "native protocol port")
	flag.IntVar(&opts.httpPort, "http-port", 0, "HTTP interface port")
	flag.StringVar(&opts.readyUser, "ready-user", "default", "user whose login proves the server is ready")
	flag.StringVar(&opts.readyPass, "ready-password", "", "that user's password")
	flag.Parse()
	if opts.lib == "" || opts.data == "" || opts.config == "" || opts.tcpPort == 0 || opts.httpPort == 0 {
		fmt.Fprintln(os.Stderr, "testbed-clickhouse: -lib, -data, -config, -tcp-port and -http-port are required")
		os.Exit(2)
	}
	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "testbed-clickhouse:", err)
		os.Exit(1)
	}
}

func run(opts options) error {
	lib, err := chdb.Load(opts.lib)
	if err != nil {
		return err
	}
	// The engine reads a config.xml from its working directory, if one is
	// there: it runs in an empty directory of its own.
	scratch := filepath.Join(filepath.Dir(filepath.Clean(opts.data)), "chdb-scratch")
	if err := os.MkdirAll(scratch, 0o750); err != nil {
		return fmt.Errorf("create scratch directory: %w", err)
	}
	if err := os.Chdir(scratch); err != nil {
		return fmt.Errorf("enter scratch directory: %w", err)
	}
	if err := lib.InitBackupPool(filepath.Join(scratch, "embedded")); err != nil {
		return err
	}
	ready, err := takeStdout()
	if err != nil {
		return err
	}
	console, err := attachTerminal()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go console.drain()
	go announceReady(ctx, opts, ready)
	// Asked to stop, tell the interactive client to exit: the server then
	// shuts down cleanly. The process exits when RunCmdline returns.
	go func() {
		<-ctx.Done()
		console.exit()
	}()
	return lib.RunCmdline(serverArgs(opts))
}

// serverArgs starts clickhouse-local as a server. --interactive keeps it
// from installing the handler that aborts the process on any exception that
// escapes a server thread (one failed login would kill it); it then reads
// commands from the terminal on stdin, which only ever sends "exit".
func serverArgs(opts options) []string {
	return []string{
		"clickhouse",
		"--path=" + opts.data,
		"--config-file=" + opts.config,
		"--listen_host=" + opts.host,
		fmt.Sprintf("--tcp_port=%d", opts.tcpPort),
		fmt.Sprintf("--http_port=%d", opts.httpPort),
		"--interactive",
		"--query", "SYSTEM START LISTEN TCP; SYSTEM START LISTEN HTTP",
	}
}
