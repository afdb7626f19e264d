//go:build bench

package main

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/model"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// TestBenchCheck: `check` of 1,000 backups (100 chains of 10) whose
// manifests list 20 parts of two files each; an incremental stores two new
// parts and keeps the rest in its base, as ClickHouse does. Time and S3
// requests.
func TestBenchCheck(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(10)
	n := envInt("CLICKVAULT_BENCH_CHECK_BACKUPS", 1000)
	objects := h.writeSyntheticManifests(h.writeSyntheticChains(n, 10))
	proxy := newS3Proxy(t, h.bed.MinIO.Endpoint)
	cfg := h.configVia(proxy, "")
	h.mustRun("backup", "--full") // a backup writes the catalog index, as in a running deployment
	proxy.reset()
	start := time.Now()
	r := h.run(cfg, "check")
	took := time.Since(start)
	c := proxy.reset()
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("%d backups checked, 0 broken", n+1)) {
		t.Fatalf("check: exit %d\n%s\n%s", r.code, tailString(r.stdout, 2000), tailString(r.stderr, 2000))
	}
	report(t, "check/backups", "%.2fs for %d backups (%d objects); S3 requests: %d LIST, %d GET, %d PUT; no data object read",
		took.Seconds(), n+1, objects, c["LIST"], c["GET"], c["PUT"])
	for _, path := range proxy.objectGets() {
		if strings.Contains(path, "/data/") {
			t.Fatalf("check read a data object: %s", path)
		}
	}
}

// writeSyntheticManifests writes, for the backups writeSyntheticChains
// described, ClickHouse's .backup manifest and the objects it lists; it
// returns how many objects it wrote.
func (h *harness) writeSyntheticManifests(backups []model.Backup) int {
	g, ctx := errgroup.WithContext(h.ctx)
	g.SetLimit(32)
	put := func(key string, body []byte) {
		g.Go(func() error {
			_, err := h.bed.MinIO.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(h.bed.MinIO.Bucket),
				Key: aws.String(key), Body: bytes.NewReader(body)})
			return err
		})
	}
	written := 0
	var parts []string // the content of each of the 20 parts, as of the previous backup
	for i, b := range backups {
		if b.Kind == model.KindFull {
			parts = nil
		}
		folder := b.Folder
		var xml strings.Builder
		xml.WriteString("<config><version>1</version><contents>")
		for p := 0; p < 20; p++ {
			content := fmt.Sprintf("part %d of backup %d: %s", p, i, strings.Repeat("x", 64))
			inBase := len(parts) == 20 && p >= 2
			if inBase {
				content = parts[p]
			} else if len(parts) == 20 {
				parts[p] = content
			}
			for _, file := range []struct{ name, body string }{{"data.bin", content}, {"count.txt", fmt.Sprint(len(content))}} {
				name := fmt.Sprintf("data/shop/orders/part_%d/%s", p, file.name)
				sum := md5.Sum([]byte(file.body))
				fmt.Fprintf(&xml, "<file><name>%s</name><size>%d</size><checksum>%s</checksum>", name, len(file.body), hex.EncodeToString(sum[:]))
				if inBase {
					xml.WriteString("<use_base>true</use_base>")
				} else {
					put(folder+name, []byte(file.body))
					written++
				}
				xml.WriteString("</file>")
			}
			if len(parts) < 20 {
				parts = append(parts, content)
			}
		}
		xml.WriteString("</contents></config>")
		put(coord.BackupFileKey(folder), []byte(xml.String()))
		written++
	}
	if err := g.Wait(); err != nil {
		h.t.Fatal(err)
	}
	return written
}
