package testbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// MinIO is the S3 server process with one bucket.
type MinIO struct {
	Endpoint  string // http://127.0.0.1:PORT
	Bucket    string
	Region    string
	AccessKey string
	SecretKey string

	bin, dataDir, logPath, addr string
	proc                        *process
}

func newMinIO(dir, bin, bucket string) *MinIO {
	return &MinIO{
		Bucket: bucket, Region: "us-east-1",
		AccessKey: "clickvault-test", SecretKey: "clickvault-test-secret",
		bin: bin, dataDir: filepath.Join(dir, "minio"), logPath: filepath.Join(dir, "minio.log"),
	}
}

// start runs MinIO and polls its readiness endpoint until it answers. The first
// start picks a free port (retrying if another process took it first);
// later starts reuse it, so clients keep their endpoint.
func (m *MinIO) start(ctx context.Context) error {
	attempts := 1
	if m.addr == "" {
		attempts = 3
	}
	var err error
	for i := 0; i < attempts; i++ {
		addr := m.addr
		if addr == "" {
			if addr, err = freeLoopbackAddr(); err != nil {
				return err
			}
		}
		if err = m.startOn(ctx, addr); err == nil {
			m.addr, m.Endpoint = addr, "http://"+addr
			return nil
		}
	}
	return err
}

func (m *MinIO) startOn(ctx context.Context, addr string) error {
	// Metrics open to anyone: tests count the requests of one kind (Requests).
	env := []string{"MINIO_ROOT_USER=" + m.AccessKey, "MINIO_ROOT_PASSWORD=" + m.SecretKey, "MINIO_BROWSER=off",
		"MINIO_PROMETHEUS_AUTH_TYPE=public"}
	proc, err := startProcess("minio", m.logPath, env, nil, m.bin, "server", m.dataDir, "--address", addr, "--quiet")
	if err != nil {
		return err
	}
	m.proc = proc
	// "ready", not "live", and not offline: a live MinIO, and even one whose
	// readiness endpoint answers 200 with x-minio-server-status: offline,
	// still refuses bucket calls with XMinioServerNotInitialized.
	if err := waitHealthy(ctx, proc, "http://"+addr+"/minio/health/ready"); err != nil {
		proc.kill()
		return proc.failure("did not become healthy", err)
	}
	return nil
}

// waitHealthy polls url until it answers 200 without the header
// x-minio-server-status: offline, the process exits, or a minute passes.
func waitHealthy(ctx context.Context, proc *process, url string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("poll health: %w", err)
		}
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close() // only the status and headers count
			if minioReady(resp) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("poll %s: %w", url, ctx.Err())
		case <-proc.done:
			return errors.New("process exited")
		case <-tick.C:
		}
	}
}

// minioReady reads a health answer: MinIO answers 200 with
// x-minio-server-status: offline while its object layer is still starting.
func minioReady(resp *http.Response) bool {
	return resp.StatusCode == http.StatusOK &&
		!strings.EqualFold(resp.Header.Get("x-minio-server-status"), "offline")
}

func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer func() { _ = ln.Close() }() // frees the port for its user
	return ln.Addr().String(), nil
}

// Stop ends MinIO gracefully; Start brings it back on the same address and data.
func (m *MinIO) Stop() {
	if m.proc != nil {
		m.proc.stop(10 * time.Second)
	}
}

// Start restarts a stopped MinIO on its address and data.
func (m *MinIO) Start(ctx context.Context) error { return m.start(ctx) }

// LogPath is the file MinIO logs to.
func (m *MinIO) LogPath() string { return m.logPath }

// Client is an S3 client for the bucket, for tests to look at objects.
func (m *MinIO) Client() *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(m.Endpoint),
		Region:       m.Region,
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, ""),
	})
}

// createBucket creates the bucket, retrying with backoff for up to a minute
// while MinIO still says it is starting (a second guard beside the health
// check: readiness and the object layer are not one switch inside MinIO).
// With lockDays > 0 the bucket is versioned and locked (see
// Options.ObjectLockDays).
func (m *MinIO) createBucket(ctx context.Context, bucket string, lockDays int) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	client := m.Client()
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket),
			ObjectLockEnabledForBucket: aws.Bool(lockDays > 0)})
		if err == nil || !minioStarting(err) {
			if err != nil {
				return fmt.Errorf("create bucket %s: %w", bucket, err)
			}
			return lockBucket(ctx, client, bucket, lockDays)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("create bucket %s: MinIO still starting after a minute: %w", bucket, err)
		case <-time.After(wait):
		}
	}
}

// lockBucket gives the bucket (created with Object Lock, so versioned) a
// default retention of days in governance mode; nothing when days is 0.
func lockBucket(ctx context.Context, client *s3.Client, bucket string, days int) error {
	if days <= 0 {
		return nil
	}
	_, err := client.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(bucket),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{
				Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(int32(days))}}}})
	if err != nil {
		return fmt.Errorf("give bucket %s a default retention of %d days: %w", bucket, days, err)
	}
	return nil
}

// minioStarting reports whether err is MinIO saying its object layer is not
// up yet, the one error worth retrying at start.
func minioStarting(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode() == "XMinioServerNotInitialized" ||
		apiErr.ErrorCode() == "XMinioServerNotReady")
}

// URL is the address of key in the bucket, as ClickHouse's S3() takes it.
func (m *MinIO) URL(key string) string { return m.BucketURL(m.Bucket, key) }

// BucketURL is the address of key in another bucket of this MinIO.
func (m *MinIO) BucketURL(bucket, key string) string {
	return m.Endpoint + "/" + bucket + "/" + key
}

// Keys lists every key under prefix.
func (m *MinIO) Keys(ctx context.Context, prefix string) ([]string, error) {
	return m.BucketKeys(ctx, m.Bucket, prefix)
}

// BucketKeys lists every key under prefix in another bucket of this MinIO.
func (m *MinIO) BucketKeys(ctx context.Context, bucket, prefix string) ([]string, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(m.Client(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys, nil
}

// Requests is how many S3 requests of one API ("copyobject", "putobject",
// as MinIO names them) MinIO has served since it started, read from its
// metrics (open to anyone on the test bed, which listens on loopback only).
// MinIO counts them afresh at most every 10 s: a test waits for a count to
// move rather than read it once.
func (m *MinIO) Requests(ctx context.Context, api string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.Endpoint+"/minio/v2/metrics/cluster", nil)
	if err != nil {
		return 0, fmt.Errorf("read MinIO's metrics: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("read MinIO's metrics: %w", err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below; a failed read is the error
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, fmt.Errorf("read MinIO's metrics: %w", err)
	}
	total := 0
	prefix := `minio_s3_requests_total{api="` + api + `"`
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		n, err := strconv.Atoi(line[strings.LastIndexByte(line, ' ')+1:])
		if err != nil {
			return 0, fmt.Errorf("read MinIO's metrics: %q: %w", line, err)
		}
		total += n
	}
	return total, nil
}

// PID is MinIO's process id (0: not running), for benchmarks that read
// its CPU time.
func (m *MinIO) PID() int { return m.proc.pid() }
