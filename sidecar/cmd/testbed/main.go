// Command testbed starts the test bed by hand — ClickHouse's own server
// (from libchdb) with the users of deploy/grants.sql, and MinIO with a
// bucket — prints how to reach them, and runs until interrupted. Its data is
// removed on exit.
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

const adminPassword = "admin"

func run(ctx context.Context) error {
	fmt.Fprintln(os.Stderr, "testbed: starting (the first run downloads libchdb and builds MinIO, a few minutes)")
	bed, err := testbed.Start(ctx, testbed.Options{Users: map[string]string{testbed.Admin: adminPassword}})
	if err != nil {
		return err
	}
	defer bed.Close()
	ch, m := bed.ClickHouse, bed.MinIO
	fmt.Printf(`ClickHouse %s
  native protocol: %s
  HTTP interface:  http://%s
  administrator:   %s / %q
  from deploy/grants.sql: clickvault / %q, analyst / %q
MinIO (S3): %s   bucket %q   access key %q   secret key %q
Data and logs: %s

Try it:
  curl -s -u %s:%s http://%s/ --data-binary 'SELECT version(), currentUser()'
  BACKUP DATABASE db TO S3('%s', '%s', '%s')

Press Ctrl-C to stop; the data is removed.
`, ch.Version, ch.Addr, ch.HTTPAddr, testbed.Admin, adminPassword, ch.Password("clickvault"), ch.Password("analyst"),
		m.Endpoint, m.Bucket, m.AccessKey, m.SecretKey, bed.Dir,
		testbed.Admin, adminPassword, ch.HTTPAddr, m.URL("try/1/"), m.AccessKey, m.SecretKey)
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "testbed: stopping")
	return nil
}
