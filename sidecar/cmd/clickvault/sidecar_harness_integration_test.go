package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

const (
	httpToken = "http-token-0123456789abcdef"
	readToken = "read-token-0123456789abcdef"
)

// Users of the sidecar tests, besides those of deploy/grants.sql (the
// sidecar's clickvault and the sample requester analyst): alice may back up
// shop and restore it into shop_restored (and write shop_other, which she may
// not create); mallory may only insert requests;
// eve may write her own database, and has no right on shop.
var sidecarUsers = testbed.Options{
	Users: map[string]string{testbed.Admin: adminPassword, "alice": "alice-pass", "mallory": "mallory-pass", "eve": "eve-pass"},
	Grants: map[string][]string{
		"alice": append(requesterGrants(), "BACKUP, SELECT ON shop.*",
			"CREATE DATABASE, CREATE TABLE, INSERT ON shop_restored.*", "CREATE TABLE, INSERT ON shop_other.*"),
		"mallory": requesterGrants(),
		"eve":     append(requesterGrants(), "CREATE DATABASE, CREATE TABLE, INSERT, SELECT ON eve_db.*"),
	},
}

// requesterGrants are the rights of grants.sql's clickvault_requester role:
// insert requests, read the answers and the catalog through the views.
func requesterGrants() []string {
	return []string{"INSERT ON clickvault.requests", "SELECT ON clickvault.request_status", "SELECT ON clickvault.chains",
		"SELECT ON clickvault.catalog", "SELECT ON clickvault.set_catalog"}
}

// sidecarUsersWith is sidecarUsers with extra grants for some users (the
// maps are copied: sidecarUsers itself never changes).
func sidecarUsersWith(extra map[string][]string) testbed.Options {
	opts := sidecarUsers
	opts.Grants = map[string][]string{}
	for user, grants := range sidecarUsers.Grants {
		opts.Grants[user] = append([]string(nil), grants...)
	}
	for user, grants := range extra {
		opts.Grants[user] = append(opts.Grants[user], grants...)
	}
	return opts
}

// sidecarProc is one `clickvault serve` process.
type sidecarProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	addr   string
	log    string
	config string
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String()
}

// newSidecarHarness is a harness with rows rows in shop.orders and one
// `clickvault serve` running, with extra lines in its [sidecar] section.
// Start it again with h.startSidecar(sc.config, sc.addr).
func newSidecarHarness(t *testing.T, rows int, extra string) (*harness, *sidecarProc) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(rows)
	addr := freeAddr(t)
	return h, h.startSidecar(h.sidecarConfig(addr, extra), addr)
}

// sidecarConfig is the harness config plus a [sidecar] section.
func (h *harness) sidecarConfig(addr, extra string) string {
	return h.writeConfig(fmt.Sprintf("[schedule]\nincremental_every = \"\"\ncheck_every = \"\"\n[sidecar]\nlisten = %q\nauth_tokens = [%q]\nread_tokens = [%q]\n%s",
		addr, httpToken, readToken, extra))
}

// startSidecar runs `clickvault serve` and waits until /readyz answers 200.
func (h *harness) startSidecar(config, addr string) *sidecarProc {
	h.t.Helper()
	return h.startSidecarWith(config, addr)
}

// startSidecarWith starts `clickvault serve` with extra environment
// variables (NAME=value) and waits until /readyz answers 200.
func (h *harness) startSidecarWith(config, addr string, env ...string) *sidecarProc {
	h.t.Helper()
	logPath := filepath.Join(h.t.TempDir(), "sidecar.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		h.t.Fatal(err)
	}
	cmd := exec.Command(clickvaultBinary(h.t), "-c", config, "-l", "debug", "serve")
	cmd.Env = append(append(os.Environ(), "GOTRACEBACK=all"), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	p := &sidecarProc{cmd: cmd, addr: addr, log: logPath, config: config, exited: make(chan struct{})}
	h.procs = append(h.procs, p)
	go func() { // ends with the process
		_ = cmd.Wait()
		close(p.exited)
	}()
	h.t.Cleanup(func() {
		p.kill()
		_ = logFile.Close()
		if h.t.Failed() {
			data, _ := os.ReadFile(logPath)
			if i := strings.Index(string(data), "SIGQUIT"); i >= 0 { // dumpSidecars: the log before it, then every goroutine
				h.t.Logf("sidecar log:\n%s\n%s", tailString(string(data[:i]), 6000), string(data[i:min(len(data), i+60000)]))
			} else {
				h.t.Logf("sidecar log:\n%s", tailString(string(data), 6000))
			}
		}
		data, _ := os.ReadFile(logPath)
		h.assertNoSecrets(string(data))
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.exited:
			deadline = time.Now()
		case <-time.After(50 * time.Millisecond):
		}
	}
	data, _ := os.ReadFile(logPath)
	h.t.Fatalf("the sidecar did not become ready:\n%s", tailString(string(data), 4000))
	return nil
}

func (p *sidecarProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// stop sends SIGTERM and returns the exit code.
func (p *sidecarProc) stop(t *testing.T) int {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(30 * time.Second):
		t.Fatal("the sidecar did not stop within 30 s of SIGTERM")
		return -1
	}
}

func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// as connects as one of the sidecar test users.
func (h *harness) as(user string) *ch.Client {
	h.t.Helper()
	c, err := h.bed.ClickHouse.Dial(h.ctx, user)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = c.Close() })
	return c
}

// request inserts a request as c with the given columns and values (SQL
// literals) and returns its id.
func (h *harness) request(c *ch.Client, columns, values string) string {
	h.t.Helper()
	return h.requestWithID(c, uuid.NewString(), columns, values)
}

// requestWithID inserts a request with a given id.
func (h *harness) requestWithID(c *ch.Client, id, columns, values string) string {
	h.t.Helper()
	q := fmt.Sprintf("INSERT INTO clickvault.requests (id, %s) VALUES ('%s', %s)", columns, id, values)
	if err := c.Do(h.ctx, ch.Query{Body: q}); err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
	return id
}

type status struct {
	state, message, backup, requestedBy string
}

func (h *harness) status(id string) status {
	h.t.Helper()
	var state, message, backup, by proto.ColStr
	err := h.ch.Do(h.ctx, ch.Query{Body: "SELECT state, message, backup, requested_by FROM clickvault.request_status WHERE id = {id:UUID}",
		Parameters: []proto.Parameter{{Key: "id", Value: "'" + id + "'"}},
		Result:     proto.Results{{Name: "state", Data: &state}, {Name: "message", Data: &message}, {Name: "backup", Data: &backup}, {Name: "requested_by", Data: &by}}})
	if err != nil {
		h.t.Fatalf("read request_status: %v", err)
	}
	if state.Rows() == 0 {
		return status{}
	}
	return status{state.Row(0), message.Row(0), backup.Row(0), by.Row(0)}
}

// waitState polls request_status until the request reaches one of states.
func (h *harness) waitState(id string, within time.Duration, states ...string) status {
	h.t.Helper()
	deadline := time.Now().Add(within)
	var last status
	for time.Now().Before(deadline) {
		last = h.status(id)
		for _, s := range states {
			if last.state == s {
				return last
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.dumpSidecars()
	h.t.Fatalf("request %s did not reach %v within %s; last %+v (the sidecars' goroutines are in their logs)", id, states, within, last)
	return last
}

// dumpSidecars has each running sidecar of the harness print its
// goroutines into its log and exit (SIGQUIT): where a request that never
// got an answer is stuck.
func (h *harness) dumpSidecars() {
	for _, p := range h.procs {
		select {
		case <-p.exited:
			continue
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
		}
	}
}

var _ = context.Background
