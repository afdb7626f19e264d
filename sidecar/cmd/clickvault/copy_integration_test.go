package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestCopyToASecondMinIO is issue 26's acceptance for copies: a chain of
// three backups is copied by each `backup` to a second MinIO (streamed)
// and to another prefix of the primary's (server-side); the copies check
// good; with the primary bucket deleted (its objects, then the bucket), a restore
// (naming no copy) reads the copy, says so, and brings back every row (count and sum(cityHash64(*)) equal); an
// object deleted from the copy is named by `check --copy`.
func TestCopyToASecondMinIO(t *testing.T) {
	h := newHarness(t)
	dr := h.bed.StartMinIO(t, "dr-copies")
	h.config = h.writeCopyConfig(copyTargets(dr.Endpoint, dr))
	h.createShop(1000)
	for i := 0; i < 3; i++ {
		if i > 0 {
			h.addRows(1000*i, 500)
		}
		r := h.mustRun("backup")
		h.assertNoCopySecret(dr, r.stdout+r.stderr)
	}
	chain := h.list()[0]
	if len(chain.Backups) != 3 {
		t.Fatalf("want one chain of 3, got %+v", chain)
	}
	for _, target := range []string{"dr", "near"} {
		if r := h.run("", "check", "--copy", target); r.code != 0 || !strings.Contains(r.stdout, "0 broken") {
			t.Fatalf("check --copy %s: exit %d\n%s\n%s", target, r.code, r.stdout, r.stderr)
		}
	}
	if r := h.mustRun("copy"); !strings.Contains(r.stdout, "shop to dr: 0 backups copied") || !strings.Contains(r.stdout, "3 copied before") {
		t.Fatalf("a second copy sent something:\n%s", r.stdout)
	}
	count, hash := h.count("SELECT count() FROM shop.orders"), h.count("SELECT sum(cityHash64(*)) FROM shop.orders")

	h.removeObjects("")
	m := h.bed.MinIO
	if _, err := m.Client().DeleteBucket(h.ctx, &s3.DeleteBucketInput{Bucket: &m.Bucket}); err != nil {
		t.Fatalf("delete the primary bucket: %v", err)
	}
	r := h.mustRun("restore", "--target", "shop_restored") // the primary bucket is gone: the first copy that has it
	h.assertNoCopySecret(dr, r.stdout+r.stderr)
	if !strings.Contains(r.stdout, "(from copy target dr)") || !strings.Contains(r.stderr, "restoring from a copy target") {
		t.Errorf("restore with the primary bucket gone does not say it read the copy dr:\n%s\n%s", r.stdout, r.stderr)
	}
	if got := h.count("SELECT count() FROM shop_restored.orders"); got != count {
		t.Fatalf("restored %d rows from the copy, want %d", got, count)
	}
	if got := h.count("SELECT sum(cityHash64(*)) FROM shop_restored.orders"); got != hash {
		t.Fatalf("restored rows differ: sum(cityHash64(*)) %d, want %d", got, hash)
	}

	victim := h.removeDataObjectIn(dr, fmt.Sprintf("cv/dr/shop/full/%s/", chain.Backups[0].Name))
	if r := h.run("", "check", "--copy", "dr"); r.code != 1 || !strings.Contains(r.stdout+r.stderr, victim) {
		t.Fatalf("check --copy dr: exit %d, want 1 naming %s\n%s\n%s", r.code, victim, r.stdout, r.stderr)
	}
}

// TestCopyKilledResumes: `clickvault copy` is killed (SIGKILL, by its own
// fault hook) after its first object; run again, it completes the copy
// without sending again any object the target already holds, and only
// then writes the metadata.
func TestCopyKilledResumes(t *testing.T) {
	h := newHarness(t)
	dr := h.bed.StartMinIO(t, "dr-copies")
	puts := newPutRecorder(t, dr.Endpoint)
	h.createShop(1000)
	h.mustRun("backup") // no target yet: nothing copied
	h.addRows(1000, 5000)
	h.mustRun("backup")
	h.config = h.writeCopyConfig(copyTargets(puts.url, dr))

	r := h.runEnv([]string{envFaultPoint + "=copy-object-sent"}, "copy", "--to", "dr")
	if r.code == 0 {
		t.Fatalf("copy was not killed:\n%s\n%s", r.stdout, r.stderr)
	}
	var before []string // the objects of backups at the target
	all, err := dr.Keys(h.ctx, "cv/dr/shop/")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range all {
		if strings.Contains(k, "/full/") || strings.Contains(k, "/incremental/") {
			before = append(before, k)
		}
	}
	if slices.ContainsFunc(before, func(k string) bool { return strings.HasSuffix(k, "/.clickvault_meta.json") }) {
		t.Fatalf("metadata was written before the copy was whole: %v", before)
	}
	sentBefore := puts.take()
	if len(sentBefore) == 0 {
		t.Fatal("the killed copy sent nothing")
	}
	r = h.runEnv(nil, "copy", "--to", "dr")
	if r.code != 0 || !strings.Contains(r.stdout, "shop to dr: 2 backups copied") {
		t.Fatalf("copy after the kill: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	again := puts.take()
	for _, key := range before {
		if slices.Contains(again, key) {
			t.Errorf("%s was at the target and was sent again", key)
		}
	}
	t.Logf("killed after %d PUTs; %d objects were there, the resumed copy sent %d", len(sentBefore), len(before), len(again))
	if r := h.run("", "check", "--copy", "dr"); r.code != 0 || !strings.Contains(r.stdout, "0 broken") {
		t.Fatalf("check --copy dr: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// copyTargets configures two targets: dr, the second MinIO at endpoint
// (directly, or through a proxy), and near, another prefix of the
// primary's bucket with its credentials (copied server-side).
func copyTargets(endpoint string, dr *testbed.MinIO) string {
	return fmt.Sprintf(`
[[copy]]
name = "dr"
endpoint = %q
clickhouse_endpoint = %q
bucket = %q
prefix = "cv/dr"
access_key = %q
secret_key = %q

[[copy]]
name = "near"
endpoint = "{{primary}}"
bucket = "{{bucket}}"
prefix = "cv/near"
access_key = "{{access}}"
secret_key = "{{secret}}"
`, endpoint, dr.Endpoint, dr.Bucket, dr.AccessKey, dr.SecretKey)
}

// writeCopyConfig writes the harness config with copyTargets.
func (h *harness) writeCopyConfig(extra string) string { return h.writeConfig(h.fillPrimary(extra)) }

// fillPrimary fills the placeholders of copyTargets with the primary's.
func (h *harness) fillPrimary(extra string) string {
	m := h.bed.MinIO
	return strings.NewReplacer("{{primary}}", m.Endpoint, "{{bucket}}", m.Bucket,
		"{{access}}", m.AccessKey, "{{secret}}", m.SecretKey).Replace(extra)
}

func (h *harness) assertNoCopySecret(m *testbed.MinIO, text string) {
	h.t.Helper()
	if strings.Contains(text, m.SecretKey) {
		h.t.Fatalf("the copy target's secret was printed:\n%s", text)
	}
}

// runEnv runs the CLI with the harness config and env added.
func (h *harness) runEnv(env []string, args ...string) result {
	h.t.Helper()
	return h.runWith(h.config, env, args...)
}

// putRecorder stands between ClickVault and a MinIO and records the key of
// every object PUT (whole, or the completion of an upload in parts).
type putRecorder struct {
	url  string
	mu   sync.Mutex
	keys []string
}

func newPutRecorder(t *testing.T, target string) *putRecorder {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &putRecorder{}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		whole := r.Method == http.MethodPut && !q.Has("partNumber")
		if whole || (r.Method == http.MethodPost && q.Has("uploadId")) {
			// path-style: /bucket/key
			_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
			p.mu.Lock()
			p.keys = append(p.keys, key)
			p.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

// take returns the keys PUT since the last take.
func (p *putRecorder) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.keys
	p.keys = nil
	return out
}

// TestCopyTargetKeepsItsOwnRetention: the primary keeps 3 chains, copy
// target dr 1 ([copy.retention]). Fulls A and B are copied; `cleanup
// --copy dr` deletes A from dr alone (the primary keeps it); after full C,
// the copy round sends C and not again A or B, which dr's rules would
// delete; `check --copy dr` finds dr sound.
func TestCopyTargetKeepsItsOwnRetention(t *testing.T) {
	h := newHarness(t)
	dr := h.bed.StartMinIO(t, "dr-copies")
	h.config = h.writeCopyConfig("[retention]\nkeep_full_backups = 3\n" + strings.Replace(copyTargets(dr.Endpoint, dr),
		"\n[[copy]]\nname = \"near\"", "[copy.retention]\nkeep_full_backups = 1\n\n[[copy]]\nname = \"near\"", 1))
	h.createShop(100)
	copied := func() []string {
		keys, err := dr.Keys(h.ctx, "cv/dr/shop/")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, k := range keys {
			if strings.HasSuffix(k, "/.clickvault_meta.json") {
				names = append(names, path.Base(path.Dir(k)))
			}
		}
		return names
	}
	var fulls []string
	for i := 0; i < 2; i++ {
		h.addRows(1000*(i+1), 10)
		h.mustRun("backup", "--kind", "full")
		fulls = append(fulls, h.list()[0].Backups[0].Name)
	}
	if got := copied(); !slices.Equal(got, fulls) {
		t.Fatalf("dr holds %v, want A and B %v", got, fulls)
	}
	if r := h.mustRun("cleanup", "--copy", "dr"); !strings.Contains(r.stdout, fulls[0]) {
		t.Fatalf("cleanup --copy dr does not name A:\n%s", r.stdout)
	}
	if got := copied(); !slices.Equal(got, fulls[1:]) {
		t.Fatalf("after its cleanup dr holds %v, want B alone", got)
	}
	h.addRows(5000, 10)
	r := h.mustRun("backup", "--kind", "full")
	chains := h.list()
	if len(chains) != 3 {
		t.Fatalf("the primary holds %d chains, want 3 (its own rules)", len(chains))
	}
	if got := copied(); !slices.Equal(got, []string{fulls[1], chains[0].Backups[0].Name}) {
		t.Fatalf("after full C dr holds %v, want B and C; backup said:\n%s\n%s", got, r.stdout, r.stderr)
	}
	if r := h.run("", "check", "--copy", "dr"); r.code != 0 || !strings.Contains(r.stdout, "0 broken") {
		t.Fatalf("check --copy dr: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
