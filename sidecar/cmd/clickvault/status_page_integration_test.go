package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium (`go tool task test` installs it when
// missing), or $CLICKVAULT_CHROMIUM. A test that needs it and cannot find
// it fails with the reason.
func chromiumPath(t *testing.T) string {
	for _, p := range []string{os.Getenv("CLICKVAULT_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	t.Fatal("the status page test needs Chromium: apt-get install chromium (go tool task test does it), or set CLICKVAULT_CHROMIUM")
	return ""
}

// pageFacts is what the test reads from the rendered page.
type pageFacts struct {
	Databases, Chains, Completed, Running, Requests int
	RPO, Check, Verify                              string
	RPOSeconds                                      string
	Widths                                          []float64
}

const readFacts = `(() => {
  const q = s => document.querySelectorAll(s);
  const db = document.querySelector('.database[data-database="shop"]');
  return {
    Databases: q('.database').length, Chains: q('.database .chain').length,
    Completed: q('.backup.status-completed').length, Running: q('.backup.status-running').length,
    Requests: q('.request[data-state="running"]').length,
    RPO: db.querySelector('.rpo').className, RPOSeconds: db.querySelector('.rpo').dataset.rpoSeconds,
    Check: db.querySelector('.check').dataset.status, Verify: db.querySelector('.verify').dataset.status,
    Widths: Array.from(q('.chain')[0].querySelectorAll('.backup')).map(e => e.getBoundingClientRect().width),
  };
})()`

// TestStatusPageInChromium is issue 18's acceptance: GET / needs a read
// token, and headless Chromium renders, without any external asset, each
// chain as a timeline of its backups (width by bytes, colour by status),
// the newest backup's age against the RPO, the last check and verify, and
// a running request with its progress. With CLICKVAULT_STATUS_SCREENSHOT
// set it saves a screenshot there (docs/status-page.png is one).
func TestStatusPageInChromium(t *testing.T) {
	browser := chromiumPath(t)
	opts := sidecarUsers
	opts.Settings = map[string]string{"max_backup_bandwidth": "2000000"}
	h := newHarnessWith(t, opts)
	h.exec("CREATE DATABASE shop")
	h.exec("CREATE TABLE shop.orders (id UInt64, item String) ENGINE = MergeTree ORDER BY id")
	h.exec("INSERT INTO shop.orders SELECT number, randomPrintableASCII(100) FROM numbers(60000)")
	addr := freeAddr(t)
	h.startSidecar(h.sidecarConfig(addr, "[rpo]\nshop = \"1h\"\n"), addr)
	alice := h.as("alice")
	for _, action := range []string{"backup", "backup", "check", "verify"} {
		if action == "backup" {
			h.exec("INSERT INTO shop.orders SELECT number, 'more' FROM numbers(1000000, 1000)")
		}
		id := h.request(alice, "action, database", "'"+action+"', 'shop'")
		if st := h.waitState(id, 2*time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" {
			t.Fatalf("%s: %+v", action, st)
		}
	}
	// The running backup writes about 40 MB at 2 MB/s: it is still running
	// after Chromium started and loaded the page, even on a loaded machine
	// (with 6 MB it had ended first once, at a load average of 20).
	h.exec("INSERT INTO shop.orders SELECT number, randomPrintableASCII(100) FROM numbers(2000000, 400000)")
	running := h.request(alice, "action, database", "'backup', 'shop'")
	h.waitState(running, time.Minute, "running")

	url := "http://" + addr + "/"
	if code, _ := call(t, http.MethodGet, url, "", ""); code != http.StatusUnauthorized {
		t.Fatalf("GET / without a token: %d, want 401", code)
	}
	ctx, cancel := context.WithTimeout(h.ctx, time.Minute)
	defer cancel()
	tab := openChromium(t, ctx, browser)
	if _, err := loadStatusPage(tab, url); err != nil {
		t.Fatal(err)
	}
	facts, err := chromedp.Run(tab, chromedp.Evaluate[pageFacts](readFacts))
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if facts.Databases != 1 || facts.Chains != 1 || facts.Completed != 2 || facts.Running != 1 || facts.Requests != 1 {
		t.Errorf("page elements: %+v", facts)
	}
	if !strings.Contains(facts.RPO, "ok") || facts.RPOSeconds != "3600" || facts.Check != "good" || facts.Verify != "passed" {
		t.Errorf("page facts: %+v", facts)
	}
	if len(facts.Widths) < 2 || facts.Widths[0] <= facts.Widths[1] {
		t.Errorf("the full backup's bar should be wider than the incremental's: %v", facts.Widths)
	}
	if t.Failed() {
		_, body := call(t, http.MethodGet, url, readToken, "")
		t.Logf("the page:\n%s", body)
	}
	if len(shot) < 1000 {
		t.Fatalf("the screenshot has %d bytes", len(shot))
	}
	if path := os.Getenv("CLICKVAULT_STATUS_SCREENSHOT"); path != "" {
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h.waitState(running, 2*time.Minute, "succeeded")
}

// openChromium starts headless Chromium at browser, sending the read token
// with every request, and returns its tab; it stops with ctx or the test.
func openChromium(t *testing.T, ctx context.Context, browser string) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 760),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()))...)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	withToken := chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tgt, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tgt, network.SetExtraHTTPHeaders,
			network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Bearer " + readToken}})
		return err
	})
	if err := chromedp.Do(tab, withToken); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return tab
}

// loadStatusPage loads url in tab and returns how long from navigating to
// the first database shown.
func loadStatusPage(tab context.Context, url string) (time.Duration, error) {
	start := time.Now()
	if err := chromedp.Do(tab, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(".database"))); err != nil {
		return 0, fmt.Errorf("load the status page %s in Chromium: %w", url, err)
	}
	return time.Since(start), nil
}
