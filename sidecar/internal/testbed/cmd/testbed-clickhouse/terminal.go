package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// console is the master side of the pseudo-terminal that is the server's
// stdin.
type console struct{ master *os.File }

// attachTerminal makes a new pseudo-terminal this process's stdin. The
// server needs one: clickhouse-local is only interactive on a terminal.
func attachTerminal() (*console, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open a pseudo-terminal: %w", err)
	}
	if err := unix.Dup3(int(slave.Fd()), 0, 0); err != nil {
		return nil, fmt.Errorf("make the pseudo-terminal stdin: %w", err)
	}
	_ = slave.Close() // fd 0 holds the terminal now
	return &console{master: master}, nil
}

// drain reads what the terminal echoes, so its buffer never fills and
// blocks the server. It ends when the process does.
func (c *console) drain() { _, _ = io.Copy(io.Discard, c.master) }

// exit types "exit" into the interactive client, which stops the server.
func (c *console) exit() { _, _ = c.master.WriteString("exit\n") }

// takeStdout keeps the process's stdout for the ready line and points fd 1
// at stderr: the interactive client prints its prompt and answers on stdout,
// which the test bed reads for nothing but that line.
func takeStdout() (*os.File, error) {
	fd, err := unix.Dup(1)
	if err != nil {
		return nil, fmt.Errorf("keep stdout: %w", err)
	}
	if err := unix.Dup3(2, 1, 0); err != nil {
		return nil, fmt.Errorf("send the server's stdout to stderr: %w", err)
	}
	return os.NewFile(uintptr(fd), "ready"), nil
}

// announceReady waits until a login on the native port succeeds, then
// prints the ready line and closes the pipe it went to.
func announceReady(ctx context.Context, opts options, out *os.File) {
	defer func() { _ = out.Close() }()
	addr := net.JoinHostPort(opts.host, strconv.Itoa(opts.tcpPort))
	for {
		version, err := login(ctx, addr, opts)
		if err == nil {
			// A failed write shows in the parent as no ready line.
			_, _ = fmt.Fprintf(out, "ready addr=%s http=%s version=%s\n",
				addr, net.JoinHostPort(opts.host, strconv.Itoa(opts.httpPort)), version)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func login(ctx context.Context, addr string, opts options) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := ch.Dial(ctx, ch.Options{Address: addr, User: opts.readyUser, Password: opts.readyPass})
	if err != nil {
		return "", err
	}
	defer func() { _ = c.Close() }() // a probe: the login was the point
	info := c.ServerInfo()
	return fmt.Sprintf("%d.%d.%d", info.Major, info.Minor, info.Patch), nil
}
