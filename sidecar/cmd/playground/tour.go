package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// The logins of deploy/grants.sql, as an installation following the README
// has them, plus the test bed's administrator, who makes the sample data.
const (
	analyst       = "analyst"    // may only request backups of shop and restores into shop_restored
	sidecarUser   = "clickvault" // the sidecar's least-privilege user
	adminPassword = "playground-admin"
	token         = "playground-token-0123456789"
	sidecarPk     = "github.com/clickvault/clickvault/sidecar/cmd/clickvault"
)

type playground struct {
	bed      *testbed.Bed
	admin    *ch.Client
	user     *ch.Client
	sidecar  *exec.Cmd
	exited   chan struct{}
	http     string
	config   string
	bin      string
	sidecarL string
}

func (p *playground) say(format string, args ...any) {
	fmt.Printf("==> "+format+"\n", args...)
}

// start brings up ClickHouse, MinIO and `clickvault serve`.
func start(ctx context.Context) (*playground, error) {
	p := &playground{}
	p.say("starting ClickHouse's own server (from libchdb) with the users of deploy/grants.sql, and MinIO; the first run downloads and builds them")
	bed, err := testbed.Start(ctx, testbed.Options{Users: map[string]string{testbed.Admin: adminPassword}})
	if err != nil {
		return nil, err
	}
	p.bed = bed
	if p.admin, err = bed.ClickHouse.Dial(ctx, testbed.Admin); err != nil {
		p.close()
		return nil, err
	}
	if p.user, err = bed.ClickHouse.Dial(ctx, analyst); err != nil {
		p.close()
		return nil, err
	}
	if err := p.startSidecar(ctx); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *playground) startSidecar(ctx context.Context) error {
	p.say("building clickvault and starting `clickvault serve` beside them")
	bin, err := testbed.BuildBinary(ctx, sidecarPk, "clickvault")
	if err != nil {
		return err
	}
	p.bin = bin
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("find a port for the sidecar: %w", err)
	}
	p.http = ln.Addr().String()
	_ = ln.Close() // frees the port for the sidecar
	m := p.bed.MinIO
	p.config = filepath.Join(p.bed.Dir, "clickvault.toml")
	config := fmt.Sprintf(`[clickhouse]
addr = %q
user = %q
password = %q
database = "shop"

[s3]
endpoint = %q
bucket = %q
prefix = "playground"
access_key = %q
secret_key = %q

[schedule]
incremental_every = ""
check_every = ""

[sidecar]
listen = %q
poll_interval = "500ms"
auth_tokens = [%q]
`, p.bed.ClickHouse.Addr, sidecarUser, p.bed.ClickHouse.Password(sidecarUser), m.Endpoint, m.Bucket, m.AccessKey, m.SecretKey, p.http, token)
	if err := os.WriteFile(p.config, []byte(config), 0o600); err != nil {
		return fmt.Errorf("write the sidecar config: %w", err)
	}
	p.sidecarL = filepath.Join(p.bed.Dir, "sidecar.log")
	logFile, err := os.Create(p.sidecarL)
	if err != nil {
		return fmt.Errorf("create the sidecar log: %w", err)
	}
	p.sidecar = exec.Command(bin, "-c", p.config, "serve")
	p.sidecar.Stdout, p.sidecar.Stderr = logFile, logFile
	p.sidecar.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.sidecar.Start(); err != nil {
		_ = logFile.Close() // nothing was written
		return fmt.Errorf("start the sidecar: %w", err)
	}
	p.exited = make(chan struct{})
	go func() { // ends with the sidecar process
		_ = p.sidecar.Wait()
		_ = logFile.Close() // the sidecar wrote it; nothing of ours to lose
		close(p.exited)
	}()
	return p.waitReady(ctx)
}

func (p *playground) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := http.Get("http://" + p.http + "/readyz"); err == nil {
			_ = resp.Body.Close() // only the status counts
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the sidecar did not become ready; see %s", p.sidecarL)
		case <-p.exited:
			return fmt.Errorf("the sidecar exited; see %s", p.sidecarL)
		case <-tick.C:
		}
	}
}

func (p *playground) close() {
	if p.sidecar != nil && p.exited != nil {
		_ = p.sidecar.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			_ = p.sidecar.Process.Kill()
			<-p.exited
		}
	}
	for _, c := range []*ch.Client{p.admin, p.user} {
		if c != nil {
			_ = c.Close() // on the way out; nothing left to do about it
		}
	}
	if p.bed != nil {
		p.bed.Close()
	}
}

func (p *playground) exec(ctx context.Context, c *ch.Client, query string) error {
	var discard proto.Results
	if err := c.Do(ctx, ch.Query{Body: query, Result: discard.Auto(),
		OnResult: func(context.Context, proto.Block) error { return nil }}); err != nil {
		return fmt.Errorf("%s: %w", query, err)
	}
	return nil
}

func (p *playground) count(ctx context.Context, query string) (uint64, error) {
	var n proto.ColUInt64
	if err := p.admin.Do(ctx, ch.Query{Body: query, Result: proto.ResultColumn{Data: &n}}); err != nil {
		return 0, fmt.Errorf("%s: %w", query, err)
	}
	return n.Row(0), nil
}

// request inserts a request as the analyst, the way a user would, and
// returns its id.
func (p *playground) request(ctx context.Context, columns, values string) (string, error) {
	id := uuid.NewString()
	q := fmt.Sprintf("INSERT INTO clickvault.requests (id, %s) VALUES ('%s', %s)", columns, id, values)
	fmt.Printf("    %s=> %s;\n", analyst, q)
	return id, p.exec(ctx, p.user, q)
}
