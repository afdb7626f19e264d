// Command testbed-clickhouse runs the ClickHouse engine (libchdb) behind the
// native TCP protocol, for ClickVault's tests and playground. It is not a
// ClickHouse server for production use.
//
// It prints "ready addr=HOST:PORT version=V" on stdout once it accepts
// connections, and stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/clickvault/clickvault/sidecar/testbed/chdb"
	"github.com/clickvault/clickvault/sidecar/testbed/nativeserver"
)

type userFlags map[string]string

func (u userFlags) String() string { return strings.Join(mapKeys(u), ",") }

func (u userFlags) Set(v string) error {
	name, password, ok := strings.Cut(v, ":")
	if !ok || name == "" {
		return fmt.Errorf("want NAME:PASSWORD, got %q", v)
	}
	u[name] = password
	return nil
}

func mapKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

type options struct {
	lib, data, listen, logLevel, config string
	users                               userFlags
}

func main() {
	opts := options{users: userFlags{}}
	flag.StringVar(&opts.lib, "lib", "", "path of libchdb.so")
	flag.StringVar(&opts.data, "data", "", "data directory of the engine")
	flag.StringVar(&opts.listen, "listen", "127.0.0.1:0", "address to accept native-protocol connections on")
	flag.StringVar(&opts.logLevel, "log-level", "info", "debug, info, warn or error")
	flag.StringVar(&opts.config, "config", "", "engine config file (users and their grants)")
	flag.Var(opts.users, "user", "NAME:PASSWORD allowed to log in (repeatable; default: default with no password)")
	flag.Parse()
	if opts.lib == "" || opts.data == "" {
		fmt.Fprintln(os.Stderr, "testbed-clickhouse: -lib and -data are required")
		os.Exit(2)
	}
	if len(opts.users) == 0 {
		opts.users["default"] = ""
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "testbed-clickhouse:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, opts options) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(opts.logLevel)); err != nil {
		return fmt.Errorf("parse -log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	var engineArgs []string
	if opts.config != "" {
		engineArgs = append(engineArgs, "--config-file="+opts.config)
	}
	engine, err := chdb.Open(opts.lib, opts.data, engineArgs...)
	if err != nil {
		return err
	}
	defer engine.Close()
	version, err := engineVersion(engine)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", opts.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.listen, err)
	}
	srv := nativeserver.New(engine, opts.users, version, logger)
	fmt.Printf("ready addr=%s version=%d.%d.%d\n", ln.Addr(), version.Major, version.Minor, version.Patch)
	if err := srv.Serve(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// engineVersion asks the engine for its version, reported in the hello.
func engineVersion(engine *chdb.Engine) (nativeserver.Version, error) {
	res, err := engine.Query("SELECT version()", "TSV", nil)
	if err != nil {
		return nativeserver.Version{}, fmt.Errorf("read engine version: %w", err)
	}
	parts := strings.Split(strings.TrimSpace(string(res.Data)), ".")
	nums := make([]int, 3)
	for i := 0; i < 3 && i < len(parts); i++ {
		if nums[i], err = strconv.Atoi(parts[i]); err != nil {
			return nativeserver.Version{}, fmt.Errorf("parse engine version %q: %w", res.Data, err)
		}
	}
	return nativeserver.Version{Major: nums[0], Minor: nums[1], Patch: nums[2]}, nil
}
