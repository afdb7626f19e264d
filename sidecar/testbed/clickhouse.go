package testbed

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/ch-go"
)

// ClickHouse is the engine process: libchdb behind the native protocol.
type ClickHouse struct {
	Addr    string // host:port of the native protocol
	Version string // engine version, e.g. 26.7.2

	bin, lib, dataDir, logPath string
	users                      map[string]string
	grants                     map[string][]string
	proc                       *process
	stdout                     *os.File // read end of the engine's stdout, kept open so it never gets SIGPIPE
}

func newClickHouse(dir, bin, lib string, users map[string]string, grants map[string][]string) *ClickHouse {
	return &ClickHouse{
		Addr: "127.0.0.1:0", bin: bin, lib: lib, users: users, grants: grants,
		dataDir: filepath.Join(dir, "clickhouse"), logPath: filepath.Join(dir, "clickhouse.log"),
	}
}

// start runs the engine on c.Addr (port 0 picks a free one, kept for restarts)
// and waits for its ready line.
func (c *ClickHouse) start(ctx context.Context) error {
	config, err := writeAccessConfig(filepath.Dir(c.logPath), c.users, c.grants)
	if err != nil {
		return err
	}
	args := []string{"-lib", c.lib, "-data", c.dataDir, "-listen", c.Addr, "-config", config}
	if level := os.Getenv(EnvEngineLogLevel); level != "" {
		args = append(args, "-log-level", level)
	}
	names := make([]string, 0, len(c.users))
	for name := range c.users {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		args = append(args, "-user", name+":"+c.users[name])
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start clickhouse engine: %w", err)
	}
	proc, err := startProcess("clickhouse engine", c.logPath, nil, w, c.bin, args...)
	w.Close()
	if err != nil {
		r.Close()
		return err
	}
	c.proc, c.stdout = proc, r
	addr, version, err := readReadyLine(ctx, proc, r)
	if err != nil {
		c.stop()
		return proc.failure("did not become ready", err)
	}
	c.Addr, c.Version = addr, version
	return nil
}

// readReadyLine waits for "ready addr=… version=…". The process's end closes
// the pipe, and a timeout or cancelled ctx kills the process, so the read
// always returns.
func readReadyLine(ctx context.Context, proc *process, r *os.File) (addr, version string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	stop := context.AfterFunc(ctx, proc.kill)
	defer stop()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		return "", "", fmt.Errorf("read ready line: %w (ctx: %v)", err, ctx.Err())
	}
	for _, field := range strings.Fields(line) {
		k, v, _ := strings.Cut(field, "=")
		switch k {
		case "addr":
			addr = v
		case "version":
			version = v
		}
	}
	if addr == "" {
		return "", "", fmt.Errorf("read ready line: no address in %q", line)
	}
	return addr, version, nil
}

func (c *ClickHouse) stop() {
	if c.proc != nil {
		c.proc.stop(10 * time.Second)
	}
	c.closeStdout()
}

func (c *ClickHouse) closeStdout() {
	if c.stdout != nil {
		c.stdout.Close()
		c.stdout = nil
	}
}

// Kill ends the engine at once, as a crash would. Its data stays.
func (c *ClickHouse) Kill() {
	if c.proc != nil {
		c.proc.kill()
	}
	c.closeStdout()
}

// Restart kills the engine and starts it again on the same address and data.
func (c *ClickHouse) Restart(ctx context.Context) error {
	c.Kill()
	return c.start(ctx)
}

// Running reports whether the engine process is alive.
func (c *ClickHouse) Running() bool { return c.proc != nil && !c.proc.exited() }

// LogPath is the file the engine logs to.
func (c *ClickHouse) LogPath() string { return c.logPath }

// Dial connects a ch-go client as user (the default user when empty).
func (c *ClickHouse) Dial(ctx context.Context, user string) (*ch.Client, error) {
	opts := ch.Options{Address: c.Addr, DialTimeout: 10 * time.Second}
	if user != "" {
		opts.User, opts.Password = user, c.users[user]
	}
	client, err := ch.Dial(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to the test bed's clickhouse at %s: %w", c.Addr, err)
	}
	return client, nil
}
