package testbed_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestEngine runs the protocol checks on one test bed: each subtest is one
// thing a ch-go client relies on.
func TestEngine(t *testing.T) {
	bed := testbed.New(t, testbed.Options{Users: map[string]string{"alice": "wonder"}})
	ctx := testContext(t)
	c := dial(t, ctx, bed)

	t.Run("version is 26.7", func(t *testing.T) {
		v := queryString(t, ctx, c, "SELECT version()")
		if !strings.HasPrefix(v, "26.7.") {
			t.Fatalf("version() = %q, want 26.7.x", v)
		}
		if got := c.ServerInfo().Major; got != 26 {
			t.Fatalf("hello reports major %d, want 26", got)
		}
	})
	t.Run("100000 rows of typed columns round trip", func(t *testing.T) { testTypedRoundTrip(t, bed) })
	t.Run("exception keeps the connection usable", func(t *testing.T) { testException(t, ctx, c) })
	t.Run("query parameters", func(t *testing.T) {
		got := queryString(t, ctx, c, "SELECT concat({a:String}, '-', toString({n:UInt32} + 1))",
			param("a", `it\'s`), param("n", "41"))
		if got != "it's-42" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("insert values inline", func(t *testing.T) {
		exec(t, ctx, c, "CREATE TABLE default.inline (a UInt64, s String) ENGINE = MergeTree ORDER BY a")
		exec(t, ctx, c, "INSERT INTO default.inline VALUES (1, 'x'), (2, 'y')")
		if got := queryUInt64(t, ctx, c, "SELECT sum(a) FROM default.inline"); got != 3 {
			t.Fatalf("sum = %d, want 3", got)
		}
	})
	t.Run("empty result", func(t *testing.T) {
		var col proto.ColUInt64
		if err := c.Do(ctx, ch.Query{Body: "SELECT number FROM numbers(10) WHERE number > 100", Result: proto.ResultColumn{Data: &col}}); err != nil {
			t.Fatal(err)
		}
		if col.Rows() != 0 {
			t.Fatalf("got %d rows", col.Rows())
		}
	})
	t.Run("ping", func(t *testing.T) {
		if err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("query settings apply to their query only", func(t *testing.T) { testSettings(t, ctx, c) })
	t.Run("login", func(t *testing.T) {
		alice, err := bed.ClickHouse.Dial(ctx, "alice")
		if err != nil {
			t.Fatalf("alice with her password: %v", err)
		}
		_ = alice.Close()
		_, err = ch.Dial(ctx, ch.Options{Address: bed.ClickHouse.Addr, User: "alice", Password: "wrong"})
		if !ch.IsErr(err, proto.ErrAuthenticationFailed) {
			t.Fatalf("wrong password: want AUTHENTICATION_FAILED (516), got %v", err)
		}
	})
	t.Run("two clients at once", func(t *testing.T) { testTwoClients(t, bed) })
}

func testTypedRoundTrip(t *testing.T, bed *testbed.Bed) {
	ctx := testContext(t)
	c := dial(t, ctx, bed)
	exec(t, ctx, c, `CREATE TABLE default.typed (
		n UInt64, i Int32, s String, lc LowCardinality(String), ns Nullable(String),
		u UUID, ts DateTime64(3, 'UTC'), e Enum8('even' = 1, 'odd' = 2), b Bool, m Map(String, String)
	) ENGINE = MergeTree ORDER BY n`)
	const rows = 100_000
	in := newTypedColumns()
	base := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for r := 0; r < rows; r++ {
		in.append(r, base)
	}
	if err := c.Do(ctx, ch.Query{Body: in.input().Into("typed"), Input: in.input()}); err != nil {
		t.Fatalf("insert %d rows: %v", rows, err)
	}
	out := newTypedColumns()
	var got int
	var sumN, sumI int64
	var nulls, odd, trues int
	err := c.Do(ctx, ch.Query{
		Body:   "SELECT n, i, s, lc, ns, u, ts, e, b, m FROM default.typed ORDER BY n",
		Result: out.results(),
		OnResult: func(_ context.Context, _ proto.Block) error {
			for r := 0; r < out.n.Rows(); r++ {
				if err := out.check(r, got+r, base); err != nil {
					return err
				}
				sumN += int64(out.n.Row(r))
				sumI += int64(out.i.Row(r))
				if out.ns.Row(r).Set == false {
					nulls++
				}
				if out.e.Row(r) == "odd" {
					odd++
				}
				if out.b.Row(r) {
					trues++
				}
			}
			got += out.n.Rows()
			return nil
		},
	})
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	wantSum := int64(rows) * (rows - 1) / 2
	if got != rows || sumN != wantSum || sumI != -wantSum || nulls != rows/2 || odd != rows/2 || trues != rows/2 {
		t.Fatalf("read %d rows, sum(n)=%d sum(i)=%d nulls=%d odd=%d trues=%d; want %d, %d, %d, %d, %d, %d",
			got, sumN, sumI, nulls, odd, trues, rows, wantSum, -wantSum, rows/2, rows/2, rows/2)
	}
	if s := queryUInt64(t, ctx, c, "SELECT toUInt64(sum(n)) FROM default.typed"); int64(s) != wantSum {
		t.Fatalf("engine sum = %d, want %d", s, wantSum)
	}
}

func testTwoClients(t *testing.T, bed *testbed.Bed) {
	ctx := testContext(t)
	g, gctx := errgroup.WithContext(ctx)
	for client := 0; client < 2; client++ {
		g.Go(func() error {
			c, err := bed.ClickHouse.Dial(gctx, "")
			if err != nil {
				return err
			}
			defer func() { _ = c.Close() }()
			for i := 0; i < 50; i++ {
				want := uint64(client*1000 + i)
				var col proto.ColUInt64
				q := fmt.Sprintf("SELECT toUInt64(%d) FROM numbers(%d) LIMIT 1 BY number %% 1", want, 1+i)
				if err := c.Do(gctx, ch.Query{Body: q, Result: proto.ResultColumn{Data: &col}}); err != nil {
					return fmt.Errorf("client %d query %d: %w", client, i, err)
				}
				if col.Rows() != 1 || col.Row(0) != want {
					return fmt.Errorf("client %d query %d: got %v, want %d", client, i, col.Rows(), want)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

func testException(t *testing.T, ctx context.Context, c *ch.Client) {
	err := c.Do(ctx, ch.Query{Body: "SELEC 1"})
	if !ch.IsErr(err, proto.ErrSyntaxError) {
		t.Fatalf("want exception with code 62, got %v", err)
	}
	if got := queryUInt64(t, ctx, c, "SELECT toUInt64(41 + 1)"); got != 42 {
		t.Fatalf("after the exception: got %d", got)
	}
	err = c.Do(ctx, ch.Query{Body: "SELECT * FROM no_such_table"})
	if !ch.IsErr(err, proto.ErrUnknownTable) {
		t.Fatalf("want UNKNOWN_TABLE (60), got %v", err)
	}
}

func testSettings(t *testing.T, ctx context.Context, c *ch.Client) {
	q := ch.Query{Body: "SELECT getSetting('max_threads')::UInt64", Settings: []ch.Setting{ch.SettingInt("max_threads", 3)}}
	var col proto.ColUInt64
	q.Result = proto.ResultColumn{Data: &col}
	if err := c.Do(ctx, q); err != nil {
		t.Fatal(err)
	}
	if col.Row(0) != 3 {
		t.Fatalf("max_threads in the query = %d, want 3", col.Row(0))
	}
	if got := queryUInt64(t, ctx, c, "SELECT getSetting('max_threads')::UInt64"); got == 3 {
		t.Fatal("the setting leaked into the next query")
	}
}
