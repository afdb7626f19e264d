// Command clickvault backs ClickHouse up to S3 with BACKUP/RESTORE SQL in
// deep incremental chains: a cron-friendly CLI and (serve) a sidecar.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
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

// envFaultPause names a point at which the process stops itself
// (SIGSTOP), the first time it gets there, until a SIGCONT: a fault test
// changes ClickHouse meanwhile, as a person or another program could.
const envFaultPause = "CLICKVAULT_FAULT_PAUSE"

// faultPoint is the fault hook handed to the service; nil unless
// envFaultPoint or envFaultPause is set.
var faultPoint func(string)

func main() {
	kill, pause := os.Getenv(envFaultPoint), os.Getenv(envFaultPause)
	if kill != "" || pause != "" {
		var paused sync.Once
		faultPoint = func(name string) {
			switch name {
			case kill:
				signalSelf(syscall.SIGKILL)
			case pause:
				paused.Do(func() { signalSelf(syscall.SIGSTOP) })
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := newRootCommand(os.Stdout, os.Stderr, os.Environ).ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err))
}

// signalSelf sends sig to the calling thread: it acts before the thread
// takes another step. Sent to the process, it reaches some thread first,
// and on a busy machine the caller ran on for milliseconds: long enough
// to send the next statement.
func signalSelf(sig syscall.Signal) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_ = syscall.Tgkill(os.Getpid(), syscall.Gettid(), sig)
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
