package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// s3Proxy stands between ClickVault and MinIO: it counts requests by kind,
// can fail the deletes and slow down some GETs, for catalog-scale figures
// and fault tests.
type s3Proxy struct {
	url         string
	mu          sync.Mutex
	counts      map[string]int
	observe     func(kind string, u *url.URL) // when set, shown each request (under mu): the benchmarks count by object
	gets        []string                      // paths of the GETs of objects, in order
	failDeletes bool
	slowGets    string        // a GET of an object whose path contains this…
	slowBy      time.Duration // …waits this long before it is passed on
	slowed      int           // how many GETs were slowed
}

func newS3Proxy(t *testing.T, target string) *s3Proxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &s3Proxy{counts: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := r.Method
		switch {
		case r.Method == http.MethodGet && r.URL.Query().Has("list-type"):
			kind = "LIST"
		case r.Method == http.MethodPost && r.URL.Query().Has("delete"):
			kind = "DELETE"
		}
		p.mu.Lock()
		p.counts[kind]++
		if p.observe != nil {
			p.observe(kind, r.URL)
		}
		if kind == http.MethodGet {
			p.gets = append(p.gets, r.URL.Path)
		}
		fail := p.failDeletes && (kind == "DELETE" || r.Method == http.MethodDelete)
		var delay time.Duration
		if kind == http.MethodGet && p.slowGets != "" && strings.Contains(r.URL.Path, p.slowGets) {
			delay = p.slowBy
			p.slowed++
		}
		p.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
			}
		}
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`<Error><Code>InternalError</Code><Message>injected fault</Message></Error>`))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

// objectGets returns the paths of the object GETs since the last call.
func (p *s3Proxy) objectGets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.gets
	p.gets = nil
	return out
}

// slowDown delays every GET of an object whose path contains part by d
// ("" stops it); slowedGets counts the GETs slowed so far.
func (p *s3Proxy) slowDown(part string, d time.Duration) {
	p.mu.Lock()
	p.slowGets, p.slowBy = part, d
	p.mu.Unlock()
}

func (p *s3Proxy) slowedGets() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.slowed
}

// configVia writes a config whose S3 endpoint (for ClickVault) is the proxy
// while ClickHouse still reaches MinIO directly.
func (h *harness) configVia(p *s3Proxy, extra string) string {
	body := strings.Replace(h.readConfig(), `endpoint = "`+h.bed.MinIO.Endpoint+`"`,
		`endpoint = "`+p.url+`"`+"\nclickhouse_endpoint = \""+h.bed.MinIO.Endpoint+`"`, 1)
	path := h.config + ".proxy"
	h.writeFile(path, body+extra)
	return path
}

// removeObjects deletes every object under prefix in the test bucket.
func (h *harness) removeObjects(prefix string) {
	m := h.bed.MinIO
	keys, err := m.Keys(h.ctx, prefix)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, key := range keys {
		if _, err := m.Client().DeleteObject(h.ctx, &s3.DeleteObjectInput{Bucket: &m.Bucket, Key: &key}); err != nil {
			h.t.Fatalf("delete %s: %v", key, err)
		}
	}
}
