//go:build bench

package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/model"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// TestBenchCatalogScale: `list` and `cleanup --dry-run` with 10,000 backups
// in S3: time and S3 requests.
func TestBenchCatalogScale(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(10)
	n := envInt("CLICKVAULT_BENCH_BACKUPS", 10_000)
	h.writeSyntheticChains(n, 100)
	proxy := newS3Proxy(t, h.bed.MinIO.Endpoint)
	h.config = h.configVia(proxy, "")
	// Cold: no index yet. Then a backup (a writer: with no index it reads
	// every metadata object, plans, and writes the index). Then with the
	// index current: another backup, list and cleanup's plan.
	steps := []struct {
		name string
		args []string
	}{
		{"list-cold", []string{"list", "--json"}},
		{"backup", []string{"backup", "--full"}},
		{"backup-again", []string{"backup"}},
		{"list", []string{"list", "--json"}},
		{"cleanup-dry-run", []string{"cleanup", "--dry-run"}},
	}
	for _, step := range steps {
		proxy.reset()
		start := time.Now()
		h.mustRun(step.args...)
		took := time.Since(start)
		c := proxy.reset()
		report(t, "catalog/"+step.name, "%.2fs with %d backups; S3 requests: %d LIST, %d GET, %d HEAD, %d PUT",
			took.Seconds(), n, c["LIST"], c["GET"], c["HEAD"], c["PUT"])
	}
}

// writeSyntheticChains writes metadata for n completed backups of shop in
// chains of perChain, as ClickVault would have, and returns them.
func (h *harness) writeSyntheticChains(n, perChain int) []model.Backup {
	layout := coord.Layout{Prefix: "cv/test"}
	start := time.Now().Add(-time.Duration(n) * time.Minute)
	g, ctx := errgroup.WithContext(h.ctx)
	g.SetLimit(32)
	var prev model.Backup
	var written []model.Backup
	for i := 0; i < n; i++ {
		ts := start.Add(time.Duration(i) * time.Minute).UTC()
		kind := model.KindIncremental
		if i%perChain == 0 {
			kind = model.KindFull
		}
		b := model.Backup{Folder: layout.Folder("shop", string(kind), model.NameAt(ts)), Meta: model.Meta{
			Version: model.MetaVersion, BackupID: fmt.Sprint(i), Kind: kind, Timestamp: ts, Status: model.StatusCreated,
			Database: "shop", Name: model.NameAt(ts), Chain: model.NameAt(ts), TotalSize: 1000}}
		if kind == model.KindIncremental {
			base := prev.Folder
			b.BaseBackupPath, b.Base, b.Chain = &base, prev.Name, prev.Chain
		}
		prev = b
		written = append(written, b)
		data, err := model.EncodeMeta(b.Meta)
		if err != nil {
			h.t.Fatal(err)
		}
		g.Go(func() error {
			_, err := h.bed.MinIO.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(h.bed.MinIO.Bucket),
				Key: aws.String(coord.MetaKey(b.Folder)), Body: bytes.NewReader(data)})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		h.t.Fatal(err)
	}
	return written
}

// TestBenchIdleFootprint: the sidecar's RSS and CPU while idle.
func TestBenchIdleFootprint(t *testing.T) {
	_, sc := newSidecarHarness(t, 10, "")
	idle := time.Duration(envInt("CLICKVAULT_BENCH_IDLE_SECONDS", 300)) * time.Second
	pid := sc.cmd.Process.Pid
	time.Sleep(5 * time.Second) // past start-up
	cpu0, wall0 := cpuTicks(t, pid), time.Now()
	var maxRSS int
	for time.Since(wall0) < idle {
		maxRSS = max(maxRSS, rssKB(t, pid))
		time.Sleep(5 * time.Second)
	}
	cpu := float64(cpuTicks(t, pid)-cpu0) / 100 // clock ticks are 1/100 s on Linux
	report(t, "idle", "max RSS %.1f MB, CPU %.2f%% of a core over %s (poll_interval 1s)",
		float64(maxRSS)/1024, 100*cpu/time.Since(wall0).Seconds(), idle)
}

func rssKB(t *testing.T, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	return 0
}

func cpuTicks(t *testing.T, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	utime, _ := strconv.Atoi(fields[11])
	stime, _ := strconv.Atoi(fields[12])
	return utime + stime
}
