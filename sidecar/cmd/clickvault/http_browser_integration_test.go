package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// attackPage is another site's page that posts a cleanup to the sidecar as
// soon as it opens: a text/plain form whose one field reads as JSON.
const attackPage = `<!doctype html><html><body>
<form id="f" method="POST" enctype="text/plain" action="%s/v1/cleanup">
<input type="hidden" name='{"dry_run":false,"database":"' value='","database":""}'>
</form><script>document.getElementById("f").submit()</script></body></html>`

// TestBrowserRefusesCrossSiteForm is issue 23's item 7 in a real browser:
// an operator opens the status page in Chromium with a write token as the
// Basic password, then visits another site whose page posts a form to
// /v1/cleanup. The browser sends the saved password with it; the sidecar
// refuses it and queues nothing, and the status page still works.
func TestBrowserRefusesCrossSiteForm(t *testing.T) {
	browser := chromiumPath(t)
	h, sc := newSidecarHarness(t, 10, "")
	port := sc.addr[strings.LastIndex(sc.addr, ":"):]
	sidecarURL := "http://127.0.0.1" + port
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = fmt.Fprintf(w, attackPage, sidecarURL)
	}))
	defer evil.Close()
	// localhost and 127.0.0.1 are different sites to the browser.
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)

	ctx, cancel := context.WithTimeout(h.ctx, time.Minute)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()))...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(alloc)
	defer cancelTab()

	login := "http://operator:" + httpToken + "@127.0.0.1" + port + "/"
	if err := chromedp.Do(tab, chromedp.Navigate(login), chromedp.WaitVisible(chromedp.CSS(".database"))); err != nil {
		t.Fatalf("open the status page with Basic credentials: %v", err)
	}
	posted := `location.href.includes("/v1/cleanup") && document.readyState === "complete"`
	if err := chromedp.Do(tab, chromedp.Navigate(evilURL),
		chromedp.Poll[chromedp.Void](posted, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("visit the other site: %v", err)
	}
	answer, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatalf("read the sidecar's answer to the form: %v", err)
	}
	// The answer is the barrier: the handler inserts a request before it
	// answers (the INSERT is synchronous), so a form that got through
	// would have its row in requests by the time the browser shows the
	// answer.
	if n := h.count("SELECT count() FROM clickvault.requests"); n != 0 {
		t.Fatalf("another site's form queued %d requests; the sidecar answered %q", n, answer)
	}
	if !strings.Contains(answer, "cross-site") {
		t.Errorf("the sidecar's answer to the form: %q, want a cross-site refusal", answer)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(sidecarURL+"/"), chromedp.WaitVisible(chromedp.CSS(".database"))); err != nil {
		t.Fatalf("the status page after the attack: %v", err)
	}
}
