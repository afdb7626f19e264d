package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestHTTPRefusesCrossSiteWrites: what a page on another site can make an
// operator's browser send is refused and queues nothing. A form posted as
// text/plain carries the Basic credentials the browser keeps from the
// status page; a script's POST carries its site's Origin. Both are sent
// here as a browser sends them, with a write token, and the requests
// table stays empty. The status page still opens with Basic credentials.
func TestHTTPRefusesCrossSiteWrites(t *testing.T) {
	h, sc := newSidecarHarness(t, 10, "")
	base := "http://" + sc.addr
	// <form enctype="text/plain"> sends name=value: a field named
	// {"dry_run":false,"database":" with the value ","database":""} makes
	// valid JSON (the last of two equal keys wins).
	form := `{"dry_run":false,"database":"=","database":""}` + "\r\n"
	attacks := []struct {
		name   string
		header map[string]string
		basic  bool
		want   int
	}{
		{"a text/plain form with Basic credentials", map[string]string{"Content-Type": "text/plain"}, true, http.StatusUnauthorized},
		{"the same form with a bearer token", map[string]string{"Content-Type": "text/plain"}, false, http.StatusUnsupportedMediaType},
		{"JSON with Basic credentials", map[string]string{"Content-Type": "application/json"}, true, http.StatusUnauthorized},
		{"a cross-site POST with a foreign Origin", map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, false, http.StatusForbidden},
		{"a POST a browser marks cross-site", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, false, http.StatusForbidden},
	}
	for _, a := range attacks {
		code, out := browserCall(t, http.MethodPost, base+"/v1/cleanup", form, a.basic, a.header)
		if code != a.want || !strings.HasPrefix(out, `{"error":`) {
			t.Errorf("%s: %d %s, want %d with a JSON error", a.name, code, out, a.want)
		}
	}
	if n := h.count("SELECT count() FROM clickvault.requests"); n != 0 {
		t.Fatalf("refused writes queued %d requests", n)
	}
	page := map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}
	if code, out := browserCall(t, http.MethodGet, base+"/", "", true, page); code != http.StatusOK || !strings.Contains(out, "shop") {
		t.Fatalf("the status page with Basic credentials: %d %.200s", code, out)
	}
	// The same write, sent as a script (curl) sends it, is queued: the
	// count above would have seen a row.
	if code, out := post(t, base+"/v1/cleanup", httpToken, `{"dry_run":true}`); code != http.StatusAccepted {
		t.Fatalf("a bearer-token JSON cleanup: %d %s", code, out)
	}
	if n := h.count("SELECT count() FROM clickvault.requests"); n != 1 {
		t.Fatalf("an accepted write left %d rows in requests, want 1", n)
	}
}

// browserCall sends one request with the write token as a bearer token or,
// with basic, as the password of Basic credentials, and the headers given.
func browserCall(t *testing.T, method, url, body string, basic bool, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if basic {
		req.SetBasicAuth("operator", httpToken)
	} else {
		req.Header.Set("Authorization", "Bearer "+httpToken)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}
