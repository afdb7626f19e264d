// Command clickvault backs ClickHouse up to S3 with BACKUP/RESTORE SQL in
// deep incremental chains: a cron-friendly CLI and (serve) a sidecar.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes: 0 success, 1 failure, 2 bad usage or configuration.
const (
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks bad flags, arguments or configuration.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// envFaultPoint names a point of a backup's life ("claimed",
// "meta-written", "backup-sent", "backup-created") at which the process
// kills itself with SIGKILL, as a crash would. Only the fault tests set it.
const envFaultPoint = "CLICKVAULT_FAULT_POINT"

// faultPoint is the fault hook handed to the service; nil unless
// envFaultPoint is set.
var faultPoint func(string)

func main() {
	if want := os.Getenv(envFaultPoint); want != "" {
		faultPoint = func(name string) {
			if name == want {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := newRootCommand(os.Stdout, os.Stderr, os.Environ).ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err))
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "clickvault:", err)
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailure
}
