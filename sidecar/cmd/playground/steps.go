package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// tour walks the loop: data, a full backup, an incremental, the catalog, a
// restore, and the row counts compared.
func (p *playground) tour(ctx context.Context, rows int) error {
	p.say("creating sample data: shop.orders with %d rows", rows)
	for _, q := range []string{
		"CREATE DATABASE shop",
		"CREATE TABLE shop.orders (id UInt64, customer String, amount Decimal(12, 2), at DateTime) ENGINE = MergeTree ORDER BY id",
		fmt.Sprintf("INSERT INTO shop.orders SELECT number, concat('customer-', toString(number %% 997)), number %% 500 + 0.99, now() - number FROM numbers(%d)", rows),
	} {
		if err := p.exec(ctx, p.admin, q); err != nil {
			return err
		}
	}
	p.say("the analyst, who has only a ClickHouse login, asks for a backup with SQL")
	first, err := p.backup(ctx)
	if err != nil {
		return err
	}
	extra := rows / 10
	p.say("%d new orders arrive; the analyst asks again, and gets an incremental on the first", extra)
	if err := p.exec(ctx, p.admin, fmt.Sprintf("INSERT INTO shop.orders SELECT number, 'late', 1, now() FROM numbers(%d, %d)", rows, extra)); err != nil {
		return err
	}
	atSecond, err := p.count(ctx, "SELECT count() FROM shop.orders")
	if err != nil {
		return err
	}
	second, err := p.backup(ctx)
	if err != nil {
		return err
	}
	if err := p.catalog(ctx); err != nil {
		return err
	}
	p.say("more orders arrive after the second backup (%d); the restore must not have them", extra/2)
	if err := p.exec(ctx, p.admin, fmt.Sprintf("INSERT INTO shop.orders SELECT number, 'later', 1, now() FROM numbers(%d, %d)", rows+extra, extra/2)); err != nil {
		return err
	}
	p.say("the analyst restores backup %s (the incremental, with the full %s under it) into shop_restored", second, first)
	if err := p.restore(ctx, second); err != nil {
		return err
	}
	restored, err := p.count(ctx, "SELECT count() FROM shop_restored.orders")
	if err != nil {
		return err
	}
	live, err := p.count(ctx, "SELECT count() FROM shop.orders")
	if err != nil {
		return err
	}
	p.say("row counts: shop.orders when backed up %d, live %d, shop_restored.orders %d", atSecond, live, restored)
	if restored != atSecond {
		return fmt.Errorf("the restore gave %d rows, want %d", restored, atSecond)
	}
	p.say("the restore has exactly the rows of the backup")
	return nil
}

// backup requests a backup and follows it to its end; it returns its name.
func (p *playground) backup(ctx context.Context) (string, error) {
	id, err := p.request(ctx, "action, database", "'backup', 'shop'")
	if err != nil {
		return "", err
	}
	st, err := p.follow(ctx, id)
	if err != nil {
		return "", err
	}
	return st.backup, nil
}

func (p *playground) restore(ctx context.Context, name string) error {
	id, err := p.request(ctx, "action, database, backup, target", fmt.Sprintf("'restore', 'shop', '%s', 'shop_restored'", name))
	if err != nil {
		return err
	}
	_, err = p.follow(ctx, id)
	return err
}

type requestState struct {
	state, backup, message string
}

// follow prints the request's states from clickvault.request_status, as a
// user would watch them, until it ends.
func (p *playground) follow(ctx context.Context, id string) (requestState, error) {
	fmt.Printf("    %s=> SELECT state, backup, message FROM clickvault.request_status WHERE id = '%s';\n", analyst, id)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	var last requestState
	for {
		var state, backup, message proto.ColStr
		err := p.user.Do(ctx, ch.Query{Body: "SELECT state, backup, message FROM clickvault.request_status WHERE id = {id:UUID}",
			Parameters: []proto.Parameter{{Key: "id", Value: "'" + id + "'"}},
			Result:     proto.Results{{Name: "state", Data: &state}, {Name: "backup", Data: &backup}, {Name: "message", Data: &message}}})
		if err != nil {
			return last, fmt.Errorf("follow request %s: %w", id, err)
		}
		if state.Rows() == 1 {
			cur := requestState{state.Row(0), backup.Row(0), message.Row(0)}
			if cur != last {
				fmt.Printf("       %-9s %s %s\n", cur.state, cur.backup, cur.message)
				last = cur
			}
			switch cur.state {
			case "succeeded":
				return cur, nil
			case "failed", "rejected", "cancelled":
				return cur, fmt.Errorf("request %s %s: %s", id, cur.state, cur.message)
			}
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("follow request %s: %w", id, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// catalog prints clickvault.catalog and clickvault.chains, the views a
// requester reads.
func (p *playground) catalog(ctx context.Context) error {
	p.say("the chain catalog, as any user can read it")
	q := `SELECT name, CAST(kind AS String) AS kind, chain, base, CAST(status AS String) AS status, toString(total_size) AS size
	      FROM clickvault.catalog WHERE database = 'shop' ORDER BY name`
	if err := p.table(ctx, q, []string{"name", "kind", "chain", "base", "status", "size"}); err != nil {
		return err
	}
	q = `SELECT chain, toString(depth) AS depth, toString(size) AS size FROM clickvault.chains WHERE database = 'shop'`
	return p.table(ctx, q, []string{"chain", "depth", "size"})
}

func (p *playground) table(ctx context.Context, query string, names []string) error {
	fmt.Printf("    %s=> %s;\n", analyst, strings.Join(strings.Fields(query), " "))
	cols := make([]proto.ColStr, len(names))
	var results proto.Results
	for i, n := range names {
		results = append(results, proto.ResultColumn{Name: n, Data: &cols[i]})
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	if _, err := fmt.Fprintf(tw, "       %s\n", strings.Join(names, "\t")); err != nil {
		return fmt.Errorf("print the catalog: %w", err)
	}
	err := p.user.Do(ctx, ch.Query{Body: query, Result: results, OnResult: func(context.Context, proto.Block) error {
		for r := 0; r < cols[0].Rows(); r++ {
			row := make([]string, len(cols))
			for i := range cols {
				row[i] = cols[i].Row(r)
			}
			if _, err := fmt.Fprintf(tw, "       %s\n", strings.Join(row, "\t")); err != nil {
				return fmt.Errorf("print the catalog: %w", err)
			}
		}
		return nil
	}})
	if err != nil {
		return fmt.Errorf("read the catalog: %w", err)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print the catalog: %w", err)
	}
	return nil
}

// howToConnect tells the user what is running and how to try it.
func (p *playground) howToConnect(stay bool) {
	m, c := p.bed.MinIO, p.bed.ClickHouse
	fmt.Printf(`
The loop is done: two backups in one chain, restored and compared.

What ran:
  ClickHouse native protocol    %s
  ClickHouse HTTP interface     http://%s
    users (deploy/grants.sql)   %s / %q (requests only), %s / %q (the sidecar's)
    administrator               %s / %q
  MinIO (S3)                    %s   bucket %q, key %q / %q
  clickvault serve              http://%s   token %q   log %s
  config                        %s
`, c.Addr, c.HTTPAddr, analyst, c.Password(analyst), sidecarUser, c.Password(sidecarUser), testbed.Admin, adminPassword,
		m.Endpoint, m.Bucket, m.AccessKey, m.SecretKey, p.http, token, p.sidecarL, p.config)
	if !stay {
		fmt.Println("\nRun `go tool task quickstart -- -stay` to keep it all running and try it yourself.")
		return
	}
	fmt.Printf(`
Try it (Ctrl-C stops everything and removes its data):
  # SQL over ClickHouse's HTTP interface, as the analyst: ask for a backup, then follow it
  curl -s -u %[1]s:%[2]s http://%[3]s/ --data-binary "INSERT INTO clickvault.requests (action, database) VALUES ('backup', 'shop')"
  curl -s -u %[1]s:%[2]s http://%[3]s/ --data-binary "SELECT action, state, backup, message FROM clickvault.request_status ORDER BY requested_at"
  # ClickHouse's own grants hold: the analyst may not drop shop's tables (ACCESS_DENIED)
  curl -s -u %[1]s:%[2]s http://%[3]s/ --data-binary "DROP TABLE shop.orders"
  # the HTTP hooks
  curl -s -X POST -H 'Authorization: Bearer %[4]s' -H 'Content-Type: application/json' http://%[5]s/v1/backups -d '{"database":"shop"}'
  curl -s -H 'Authorization: Bearer %[4]s' 'http://%[5]s/v1/backups?database=shop'
  # the CLI, as the sidecar's user
  %[6]s -c %[7]s list
  %[6]s -c %[7]s verify
  clickhouse client --port %[8]s -u %[1]s --password %[2]s   # if you have it
`, analyst, c.Password(analyst), c.HTTPAddr, token, p.http, p.bin, p.config, portOf(c.Addr))
}

func portOf(addr string) string {
	_, port, _ := strings.Cut(addr, ":")
	return port
}
