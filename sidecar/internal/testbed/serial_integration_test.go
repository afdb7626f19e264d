package testbed_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestSerialBackupsRefuseABackupBesideAnother: with Options.SerialBackups
// the server refuses a BACKUP … ASYNC sent while another runs: the
// statement is accepted, the operation fails with code 587
// (CONCURRENT_ACCESS_NOT_SUPPORTED) and writes nothing, and its id cannot
// be used again (what ClickVault's resend rests on).
func TestSerialBackupsRefuseABackupBesideAnother(t *testing.T) {
	bed := testbed.New(t, testbed.Options{SerialBackups: true, Settings: map[string]string{"max_backup_bandwidth": "200000"}})
	ctx := testContext(t)
	c := dial(t, ctx, bed)
	exec(t, ctx, c, "CREATE DATABASE shop")
	exec(t, ctx, c, "CREATE TABLE shop.orders (id UInt64, item String) ENGINE = MergeTree ORDER BY id")
	exec(t, ctx, c, "INSERT INTO shop.orders SELECT number, concat('item', toString(number)) FROM numbers(100000)")
	send := func(prefix, id string) error {
		return c.Do(ctx, ch.Query{
			Body:   fmt.Sprintf("BACKUP DATABASE shop TO %s SETTINGS id = '%s' ASYNC", s3Func(bed, prefix), id),
			Result: proto.Results{{Name: "id", Data: new(proto.ColStr)}, {Name: "status", Data: new(proto.ColEnum)}},
		})
	}
	if err := send("slow/", "slow"); err != nil {
		t.Fatal(err)
	}
	if err := send("beside/", "beside"); err != nil {
		t.Fatalf("the BACKUP beside another was refused as a statement (%v); want it accepted and its operation failed", err)
	}
	waitStatus(t, ctx, c, "slow", "BACKUP_CREATED")
	got := queryString(t, ctx, c, "SELECT concat(toString(status), ' ', error) FROM system.backups WHERE id = 'beside'")
	if !strings.HasPrefix(got, "BACKUP_FAILED Code: 587.") || !strings.Contains(got, "(CONCURRENT_ACCESS_NOT_SUPPORTED)") {
		t.Fatalf("the BACKUP beside another: %.200s; want BACKUP_FAILED with code 587 (CONCURRENT_ACCESS_NOT_SUPPORTED)", got)
	}
	if keys, err := bed.MinIO.Keys(ctx, "beside/"); err != nil || len(keys) != 0 {
		t.Fatalf("the refused BACKUP wrote %v (%v), want nothing", keys, err)
	}
	err := send("beside/", "beside")
	if err == nil || !strings.Contains(err.Error(), "same ID") {
		t.Fatalf("a BACKUP under the refused one's id: %v, want it refused for the id", err)
	}
}
