package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/testbed"
	"github.com/clickvault/clickvault/sidecar/model"
)

// The CLI is tested as users run it: the built binary, its exit code, its
// stdout and stderr, against the test bed.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func clickvaultBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "clickvault-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "clickvault")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build clickvault: %w: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// The sidecar and the CLI always log in as the least-privilege user of
// deploy/grants.sql; tests set up data as the test bed's administrator.
const (
	sidecarUser   = "clickvault"
	adminPassword = "admin-pass-Zq81"
	hookToken     = "hook-token-Ux72" // a secret the harness configures, never to be printed
)

type harness struct {
	t      *testing.T
	bed    *testbed.Bed
	ctx    context.Context
	ch     *ch.Client
	config string
	hook   *hookReceiver
	// procs are the sidecars started: a request that waits too long
	// dumps their goroutines into their logs (dumpSidecars).
	procs []*sidecarProc
}

func newHarness(t *testing.T) *harness {
	return newHarnessWith(t, testbed.Options{Users: map[string]string{testbed.Admin: adminPassword}})
}

func newHarnessWith(t *testing.T, opts testbed.Options) *harness {
	bed := testbed.New(t, opts)
	// A bound on the harness's own queries, not a test's time (go test's
	// -timeout is): the fault suite's kill sweep restarts a killed
	// sidecar dozens of times, each resuming its claims after the 30 s
	// watch for a twin of its name.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	t.Cleanup(cancel)
	c, err := bed.ClickHouse.Dial(ctx, testbed.Admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	h := &harness{t: t, bed: bed, ctx: ctx, ch: c, hook: newHookReceiver(t)}
	h.config = h.writeConfig("")
	return h
}

// writeConfig writes a config for the test bed, with extra TOML appended.
func (h *harness) writeConfig(extra string) string {
	m := h.bed.MinIO
	body := fmt.Sprintf(`
[clickhouse]
addr = %q
user = %q
password = %q
database = "shop"

[s3]
endpoint = %q
bucket = %q
prefix = "cv/test"
access_key = %q
secret_key = %q

[[notifications.providers]]
type = "webhook"
url = "%s/hook/%s"
headers = { Authorization = "Bearer %s" }
%s`, h.bed.ClickHouse.Addr, sidecarUser, h.bed.ClickHouse.Password(sidecarUser), m.Endpoint, m.Bucket, m.AccessKey, m.SecretKey, h.hook.url, hookToken, hookToken, extra)
	path := filepath.Join(h.t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return path
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs the CLI with the harness config (or cfg, when not "").
func (h *harness) run(cfg string, args ...string) result {
	h.t.Helper()
	if cfg == "" {
		cfg = h.config
	}
	return h.runWith(cfg, nil, args...)
}

// runWith runs the CLI with config cfg and env added to this process's.
func (h *harness) runWith(cfg string, env []string, args ...string) result {
	h.t.Helper()
	cmd := exec.CommandContext(h.ctx, clickvaultBinary(h.t), append([]string{"-c", cfg}, args...)...)
	cmd.Env = append(cmd.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		h.t.Fatalf("run clickvault %v: %v", args, err)
	}
	h.assertNoSecrets(stdout.String() + stderr.String())
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// mustRun runs the CLI and fails the test unless it exits 0.
func (h *harness) mustRun(args ...string) result {
	h.t.Helper()
	r := h.run("", args...)
	if r.code != 0 {
		h.t.Fatalf("clickvault %v exited %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

func (h *harness) assertNoSecrets(text string) {
	h.t.Helper()
	for _, s := range []string{h.bed.ClickHouse.Password(sidecarUser), adminPassword, hookToken, h.bed.MinIO.SecretKey} {
		if strings.Contains(text, s) {
			h.t.Fatalf("a secret (%q…) was printed:\n%s", s[:4], text)
		}
	}
}

func (h *harness) exec(query string) {
	h.t.Helper()
	var discard proto.Results
	if err := h.ch.Do(h.ctx, ch.Query{Body: query, Result: discard.Auto(),
		OnResult: func(context.Context, proto.Block) error { return nil }}); err != nil {
		h.t.Fatalf("%s: %v", query, err)
	}
}

func (h *harness) count(query string) uint64 {
	h.t.Helper()
	var n proto.ColUInt64
	if err := h.ch.Do(h.ctx, ch.Query{Body: query, Result: proto.ResultColumn{Data: &n}}); err != nil {
		h.t.Fatalf("%s: %v", query, err)
	}
	return n.Row(0)
}

// textAs is a query's one string, run by client c.
func (h *harness) textAs(c *ch.Client, query string) string {
	h.t.Helper()
	var s proto.ColStr
	if err := c.Do(h.ctx, ch.Query{Body: query, Result: proto.ResultColumn{Data: &s}}); err != nil {
		h.t.Fatalf("%s: %v", query, err)
	}
	return s.Row(0)
}

// list runs `list --json` and returns the chains of shop.
func (h *harness) list() []listedChain {
	h.t.Helper()
	r := h.mustRun("list", "--json")
	var dbs []listedDatabase
	if err := json.Unmarshal([]byte(r.stdout), &dbs); err != nil {
		h.t.Fatalf("list --json is not JSON (%v): %s", err, r.stdout)
	}
	if len(dbs) != 1 || dbs[0].Database != "shop" {
		h.t.Fatalf("list --json: want database shop, got %s", r.stdout)
	}
	return dbs[0].Chains
}

// meta reads a backup's metadata from MinIO.
func (h *harness) meta(kind model.Kind, name string) model.Meta {
	h.t.Helper()
	key := coord.MetaKey(coord.Layout{Prefix: "cv/test"}.Folder("shop", string(kind), name))
	out, err := h.bed.MinIO.Client().GetObject(h.ctx, getInput(h.bed.MinIO.Bucket, key))
	if err != nil {
		h.t.Fatalf("get %s: %v", key, err)
	}
	defer func() { _ = out.Body.Close() }()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(out.Body)
	h.assertNoSecrets(buf.String())
	m, err := model.DecodeMeta(buf.Bytes())
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

func (h *harness) createShop(rows int) {
	h.exec("CREATE DATABASE shop")
	h.exec("CREATE TABLE shop.orders (id UInt64, item String) ENGINE = MergeTree ORDER BY id")
	h.addRows(0, rows)
}

func (h *harness) addRows(from, n int) {
	h.exec(fmt.Sprintf("INSERT INTO shop.orders SELECT number, toString(number) FROM numbers(%d, %d)", from, n))
}

// restartEngine starts a killed or crashed engine again (or restarts a
// running one, with the users and grants it was given) and reconnects.
func (h *harness) restartEngine() {
	h.t.Helper()
	if err := h.bed.ClickHouse.Restart(h.ctx); err != nil {
		h.t.Fatal(err)
	}
	c, err := h.bed.ClickHouse.Dial(h.ctx, testbed.Admin)
	if err != nil {
		h.t.Fatal(err)
	}
	h.ch = c
}

// envInt reads a positive integer knob from the environment, or def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
