package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strings"
	"testing"
)

// ignoringProxy stands in front of MinIO as an S3-compatible store that
// ignores conditional writes: a PUT that MinIO refuses with 412 is answered
// 200, as such a store would (it writes whatever it is sent).
func ignoringProxy(t *testing.T, target string) string {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method == http.MethodPut && resp.StatusCode == http.StatusPreconditionFailed {
			resp.StatusCode, resp.Status = http.StatusOK, "200 OK"
			resp.Header.Set("ETag", `"ignored"`)
			resp.Body, resp.ContentLength = http.NoBody, 0
			resp.Header.Del("Content-Length")
		}
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestRefusesStoreWithoutConditionalWrites: on a store that ignores
// If-None-Match and If-Match, `serve` and `backup` refuse to start with a
// clear error, and nothing is backed up.
func TestRefusesStoreWithoutConditionalWrites(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(10)
	proxy := ignoringProxy(t, h.bed.MinIO.Endpoint)
	body := strings.Replace(h.readConfig(), `endpoint = "`+h.bed.MinIO.Endpoint+`"`,
		`endpoint = "`+proxy+`"`+"\nclickhouse_endpoint = \""+h.bed.MinIO.Endpoint+`"`, 1)
	config := h.config + ".ignoring"
	addr := freeAddr(t)
	h.writeFile(config, body+"[sidecar]\nlisten = \""+addr+"\"\n")
	for _, args := range [][]string{{"backup"}, {"serve"}} {
		cmd := exec.CommandContext(h.ctx, clickvaultBinary(t), append([]string{"-c", config}, args...)...)
		out, err := cmd.CombinedOutput()
		if code := exitCodeOf(err); code != 1 || !strings.Contains(string(out), "ignores conditional writes") {
			t.Errorf("clickvault %v on a store without conditional writes: exit %d, want 1 naming the problem:\n%s", args, code, out)
		}
		h.assertNoSecrets(string(out))
	}
	if n := h.metaObjects(); n != 0 {
		t.Fatalf("%d backups were written to a store without conditional writes", n)
	}
}
