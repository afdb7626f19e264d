package testbed

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/ch-go"
)

// ClickHouse is ClickHouse's own server, run from libchdb in a process of
// its own: real logins, grants enforced, sessions in parallel.
type ClickHouse struct {
	Addr     string // host:port of the native protocol
	HTTPAddr string // host:port of the HTTP interface
	Version  string // server version, e.g. 26.7.2

	bin, lib, dataDir, logPath string
	access                     Access
	settings                   map[string]string
	env                        []string // the server's environment: its S3 credentials
	proc                       *process
	stdout                     *os.File // read end of the engine's stdout, kept open so it never gets SIGPIPE
}

func newClickHouse(dir, bin, lib string, access Access, settings map[string]string) *ClickHouse {
	return &ClickHouse{
		bin: bin, lib: lib, access: access, settings: settings,
		dataDir: filepath.Join(dir, "clickhouse"), logPath: filepath.Join(dir, "clickhouse.log"),
	}
}

// start runs the server and waits for its ready line. The first start picks
// free ports (retrying if another process took one first); later starts
// reuse them, so clients keep their address.
func (c *ClickHouse) start(ctx context.Context) error {
	attempts := 1
	if c.Addr == "" {
		attempts = 3
	}
	var err error
	for i := 0; i < attempts; i++ {
		tcp, http := c.Addr, c.HTTPAddr
		if tcp == "" {
			if tcp, err = freeLoopbackAddr(); err != nil {
				return err
			}
			if http, err = freeLoopbackAddr(); err != nil {
				return err
			}
		}
		if err = c.startOn(ctx, tcp, http); err == nil {
			return nil
		}
	}
	return err
}

func (c *ClickHouse) startOn(ctx context.Context, tcp, http string) error {
	config, err := writeAccessConfig(filepath.Dir(c.logPath), c.access, c.settings)
	if err != nil {
		return err
	}
	_, tcpPort, _ := net.SplitHostPort(tcp)
	_, httpPort, _ := net.SplitHostPort(http)
	args := []string{"-lib", c.lib, "-data", c.dataDir, "-config", config,
		"-tcp-port", tcpPort, "-http-port", httpPort,
		"-ready-user", Admin, "-ready-password", c.access.Users[Admin]}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start clickhouse server: %w", err)
	}
	proc, err := startProcess("clickhouse server", c.logPath, c.env, w, c.bin, args...)
	_ = w.Close() // the child holds its own copy; ours must go so its end is EOF
	if err != nil {
		_ = r.Close()
		return err
	}
	c.proc, c.stdout = proc, r
	ready, err := readReadyLine(ctx, proc, r)
	if err != nil {
		c.stop()
		return proc.failure("did not become ready", err)
	}
	c.Addr, c.HTTPAddr, c.Version = ready["addr"], ready["http"], ready["version"]
	return nil
}

// readReadyLine waits for "ready addr=… http=… version=…". The process's
// end closes the pipe, and a timeout or cancelled ctx kills the process, so
// the read always returns.
func readReadyLine(ctx context.Context, proc *process, r *os.File) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	stop := context.AfterFunc(ctx, proc.kill)
	defer stop()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("read ready line: %w (%w)", err, ctxErr)
		}
		return nil, fmt.Errorf("read ready line: %w", err)
	}
	fields := map[string]string{}
	for _, field := range strings.Fields(line) {
		k, v, _ := strings.Cut(field, "=")
		fields[k] = v
	}
	if fields["addr"] == "" || fields["http"] == "" {
		return nil, fmt.Errorf("read ready line: no addresses in %q", line)
	}
	return fields, nil
}

func (c *ClickHouse) stop() {
	if c.proc != nil {
		c.proc.stop(10 * time.Second)
	}
	c.closeStdout()
}

func (c *ClickHouse) closeStdout() {
	if c.stdout != nil {
		_ = c.stdout.Close() // read only for the ready line
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

// Restart kills the engine and starts it again on the same address and
// data, its system logs (query_log, query_views_log) working again as a
// restarted server's do. This engine keeps the system database's tables
// in memory only: restarted on its data as it is, it cannot create them
// again (their folders are there), writes no log, and never finishes a
// flush of query_views_log. So the old logs' folder is moved aside
// (data/system.before-restart-N), and with it the log rows written before
// the restart, which a real server would keep (rows it had not written
// yet are lost by a crash on both).
func (c *ClickHouse) Restart(ctx context.Context) error {
	c.Kill()
	if _, err := c.setSystemLogsAside(); err != nil {
		return err
	}
	return c.start(ctx)
}

// RestartWithBrokenLog restarts the engine with one system log (name:
// query_log, query_views_log) as this engine leaves it (see Restart), the
// others working: like a server whose table for that log cannot be
// created, it writes nothing to it and never finishes a flush of it (it
// waits 180 s).
func (c *ClickHouse) RestartWithBrokenLog(ctx context.Context, name string) error {
	c.Kill()
	aside, err := c.setSystemLogsAside()
	if err != nil {
		return err
	}
	if aside == "" {
		return fmt.Errorf("restart with a broken %s: the engine has no system logs yet (flush them first)", name)
	}
	if err := os.MkdirAll(c.systemLogsDir(), 0o750); err != nil {
		return fmt.Errorf("restart with a broken %s: %w", name, err)
	}
	if err := os.Rename(filepath.Join(aside, name), filepath.Join(c.systemLogsDir(), name)); err != nil {
		return fmt.Errorf("restart with a broken %s: %w", name, err)
	}
	return c.start(ctx)
}

// systemLogsDir is where the engine keeps its system logs' data.
func (c *ClickHouse) systemLogsDir() string { return filepath.Join(c.dataDir, "data", "system") }

// setSystemLogsAside moves the system logs' folder to the first free
// data/system.before-restart-N and returns that path ("" when there was
// no folder to move).
func (c *ClickHouse) setSystemLogsAside() (string, error) {
	logs := c.systemLogsDir()
	for n := 1; ; n++ {
		aside := fmt.Sprintf("%s.before-restart-%d", logs, n)
		if _, err := os.Stat(aside); err == nil {
			continue
		}
		err := os.Rename(logs, aside)
		switch {
		case err == nil:
			return aside, nil
		case errors.Is(err, fs.ErrNotExist):
			return "", nil
		}
		return "", fmt.Errorf("set the engine's system logs aside before its restart: %w", err)
	}
}

// Running reports whether the engine process is alive.
func (c *ClickHouse) Running() bool { return c.proc != nil && !c.proc.exited() }

// LogPath is the file the engine logs to.
func (c *ClickHouse) LogPath() string { return c.logPath }

// Dial connects a ch-go client as user, with their password (the
// administrator when user is "").
func (c *ClickHouse) Dial(ctx context.Context, user string) (*ch.Client, error) {
	if user == "" {
		user = Admin
	}
	opts := ch.Options{Address: c.Addr, DialTimeout: 10 * time.Second, User: user, Password: c.access.Users[user]}
	client, err := ch.Dial(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to the test bed's clickhouse at %s as %s: %w", c.Addr, user, err)
	}
	return client, nil
}

// SetGrants replaces user's grants from the next Restart on, as an
// administrator's GRANT or REVOKE would (this server's users are fixed
// while it runs).
func (c *ClickHouse) SetGrants(user string, grants []string) {
	c.access.Grants[user] = append([]string(nil), grants...)
}

// Password is user's password on this server.
func (c *ClickHouse) Password(user string) string { return c.access.Users[user] }

// Users are the logins the server accepts (besides its internal one).
func (c *ClickHouse) Users() []string {
	names := make([]string, 0, len(c.access.Users))
	for name := range c.access.Users {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Grants are what user was granted at start, as "PRIVILEGES ON target"
// (the administrator has every right and none listed).
func (c *ClickHouse) Grants(user string) []string {
	return append([]string(nil), c.access.Grants[user]...)
}

// PID is the engine process's id (0: not running), for benchmarks that
// read its CPU time.
func (c *ClickHouse) PID() int { return c.proc.pid() }
