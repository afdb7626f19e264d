// Package testbed starts a real ClickHouse engine (libchdb behind the native
// protocol) and a real S3 (MinIO) on loopback, for ClickVault's tests, its
// playground and `task testbed`. Downloads and builds are cached outside the
// repository (see CacheDir); the first start fetches them.
package testbed

import (
	"context"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sync/errgroup"
)

// Options shape a test bed.
type Options struct {
	// Users are the ClickHouse logins the engine accepts (name → password).
	// Default: "default" with no password. "default" may do anything.
	Users map[string]string
	// Grants are each other user's privileges, as in GRANT statements:
	// "INSERT ON clickvault.requests". They are real ClickHouse grants,
	// visible in system.grants.
	Grants map[string][]string
	// Bucket is created in MinIO. Default: "backups".
	Bucket string
}

// Bed is a running engine and MinIO, with their data in Dir.
type Bed struct {
	Dir        string
	ClickHouse *ClickHouse
	MinIO      *MinIO
}

// Binaries are the files a test bed runs.
type Binaries struct {
	Libchdb, Engine, MinIO string
}

// Prepare fetches or builds what a test bed runs, in parallel: libchdb from
// the npm registry, MinIO from the Go module proxy, the engine front end from
// this checkout. An error says which one could not be had, and why.
func Prepare(ctx context.Context) (Binaries, error) {
	var b Binaries
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { b.Libchdb, err = Libchdb(ctx); return err })
	g.Go(func() (err error) { b.MinIO, err = MinIOBinary(ctx); return err })
	g.Go(func() (err error) { b.Engine, err = EngineBinary(ctx); return err })
	if err := g.Wait(); err != nil {
		return Binaries{}, fmt.Errorf("prepare the test bed: %w", err)
	}
	return b, nil
}

// Start prepares the binaries and starts both servers, ready for use.
func Start(ctx context.Context, opts Options) (*Bed, error) {
	if opts.Users == nil {
		opts.Users = map[string]string{"default": ""}
	}
	if opts.Bucket == "" {
		opts.Bucket = "backups"
	}
	bins, err := Prepare(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "clickvault-testbed-")
	if err != nil {
		return nil, fmt.Errorf("create test bed directory: %w", err)
	}
	bed := &Bed{
		Dir:        dir,
		ClickHouse: newClickHouse(dir, bins.Engine, bins.Libchdb, opts.Users, opts.Grants),
		MinIO:      newMinIO(dir, bins.MinIO, opts.Bucket),
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return bed.ClickHouse.start(gctx) })
	g.Go(func() error {
		if err := bed.MinIO.start(gctx); err != nil {
			return err
		}
		return bed.MinIO.createBucket(gctx)
	})
	if err := g.Wait(); err != nil {
		bed.Close()
		return nil, fmt.Errorf("start the test bed: %w", err)
	}
	return bed, nil
}

// Close stops both servers and removes their data.
func (b *Bed) Close() {
	b.ClickHouse.stop()
	b.MinIO.Stop()
	_ = os.RemoveAll(b.Dir)
}

// Logs returns the end of both servers' logs, for a failed test to show.
func (b *Bed) Logs() string {
	var out strings.Builder
	for _, path := range []string{b.ClickHouse.LogPath(), b.MinIO.LogPath()} {
		data, _ := os.ReadFile(path)
		fmt.Fprintf(&out, "--- %s\n%s\n", path, tail(string(data), 4000))
	}
	return out.String()
}
