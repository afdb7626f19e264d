// Command testbed starts the test bed by hand — the ClickHouse engine behind
// the native protocol and MinIO with a bucket — prints how to reach them,
// and runs until interrupted. Its data is removed on exit.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "testbed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	fmt.Fprintln(os.Stderr, "testbed: starting (the first run downloads libchdb and builds MinIO, a few minutes)")
	bed, err := testbed.Start(ctx, testbed.Options{})
	if err != nil {
		return err
	}
	defer bed.Close()
	ch, m := bed.ClickHouse, bed.MinIO
	fmt.Printf(`ClickHouse %s (native protocol): %s   user "default", no password
MinIO (S3): %s   bucket %q   access key %q   secret key %q
Data and logs: %s

Try it:
  BACKUP DATABASE db TO S3('%s', '%s', '%s')

Press Ctrl-C to stop; the data is removed.
`, ch.Version, ch.Addr, m.Endpoint, m.Bucket, m.AccessKey, m.SecretKey, bed.Dir,
		m.URL("try/1/"), m.AccessKey, m.SecretKey)
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "testbed: stopping")
	return nil
}
