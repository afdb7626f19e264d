// Command playground is ClickVault's quick start on one machine without
// Docker: it starts the test bed's ClickHouse engine and MinIO, runs
// `clickvault serve` beside them, and walks the whole loop with SQL as a
// ClickHouse user would — sample data, a backup requested with INSERT, its
// progress, an incremental, the chain catalog, and a restore into a new
// database with row counts compared. With --stay it keeps everything running
// and says how to connect.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stay := flag.Bool("stay", false, "keep ClickHouse, MinIO and the sidecar running after the tour, until Ctrl-C")
	rows := flag.Int("rows", 200_000, "rows of sample data")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, *rows, *stay)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "playground:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, rows int, stay bool) error {
	p, err := start(ctx)
	if err != nil {
		return err
	}
	defer p.close()
	if err := p.tour(ctx, rows); err != nil {
		return err
	}
	p.howToConnect(stay)
	if stay {
		<-ctx.Done()
		p.say("stopping")
	}
	return nil
}
