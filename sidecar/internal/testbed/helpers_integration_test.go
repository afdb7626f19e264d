package testbed_test

import (
	"context"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func dial(t *testing.T, ctx context.Context, bed *testbed.Bed) *ch.Client {
	t.Helper()
	c, err := bed.ClickHouse.Dial(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// exec runs a statement and discards any rows it returns.
func exec(t *testing.T, ctx context.Context, c *ch.Client, query string) {
	t.Helper()
	var discard proto.Results
	q := ch.Query{Body: query, Result: discard.Auto(), OnResult: func(context.Context, proto.Block) error { return nil }}
	if err := c.Do(ctx, q); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// queryString runs a query whose first column is a String and returns its
// first row.
func queryString(t *testing.T, ctx context.Context, c *ch.Client, query string, params ...proto.Parameter) string {
	t.Helper()
	var col proto.ColStr
	err := c.Do(ctx, ch.Query{Body: query, Parameters: params, Result: proto.ResultColumn{Data: &col}})
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if col.Rows() == 0 {
		return ""
	}
	return col.Row(0)
}

func queryUInt64(t *testing.T, ctx context.Context, c *ch.Client, query string) uint64 {
	t.Helper()
	var col proto.ColUInt64
	if err := c.Do(ctx, ch.Query{Body: query, Result: proto.ResultColumn{Data: &col}}); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if col.Rows() != 1 {
		t.Fatalf("%s: want one row, got %d", query, col.Rows())
	}
	return col.Row(0)
}

func param(name, value string) proto.Parameter {
	return proto.Parameter{Key: name, Value: "'" + value + "'"}
}
