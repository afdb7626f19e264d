package testbed_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestBackupChainRestores is the engine doing what ClickVault builds on:
// ASYNC backups to MinIO with an id, progress in system.backups, an
// incremental on a base, and a restore of the incremental after a drop.
func TestBackupChainRestores(t *testing.T) {
	bed := testbed.New(t, testbed.Options{})
	ctx := testContext(t)
	c := dial(t, ctx, bed)
	exec(t, ctx, c, "CREATE DATABASE shop")
	exec(t, ctx, c, "CREATE TABLE shop.orders (id UInt64, item String) ENGINE = MergeTree ORDER BY id")
	exec(t, ctx, c, "INSERT INTO shop.orders SELECT number, concat('item', toString(number)) FROM numbers(1000)")

	full := "chain/full/"
	backupAndWait(t, ctx, bed, c, full, "")
	exec(t, ctx, c, "INSERT INTO shop.orders SELECT number, 'late' FROM numbers(1000, 500)")
	incremental := "chain/incremental/"
	backupAndWait(t, ctx, bed, c, incremental, full)

	for _, prefix := range []string{full, incremental} {
		keys, err := bed.MinIO.Keys(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(keys, prefix+".backup") {
			t.Fatalf("no %s.backup object in MinIO; keys: %v", prefix, keys)
		}
	}

	exec(t, ctx, c, "DROP DATABASE shop SYNC")
	id := uuid.NewString()
	exec(t, ctx, c, fmt.Sprintf("RESTORE DATABASE shop FROM %s SETTINGS id = '%s' ASYNC", s3Func(bed, incremental), id))
	waitStatus(t, ctx, c, id, "RESTORED")
	if got := queryUInt64(t, ctx, c, "SELECT count() FROM shop.orders"); got != 1500 {
		t.Fatalf("restored %d rows, want 1500", got)
	}
	if got := queryUInt64(t, ctx, c, "SELECT toUInt64(sum(id)) FROM shop.orders"); got != 1499*1500/2 {
		t.Fatalf("restored sum(id) = %d", got)
	}
}

func s3Func(bed *testbed.Bed, prefix string) string {
	m := bed.MinIO
	return fmt.Sprintf("S3('%s', '%s', '%s')", m.URL(prefix), m.AccessKey, m.SecretKey)
}

// backupAndWait sends BACKUP … ASYNC with a fresh id (and base_backup when
// base is set) and waits for BACKUP_CREATED.
func backupAndWait(t *testing.T, ctx context.Context, bed *testbed.Bed, c *ch.Client, prefix, base string) {
	t.Helper()
	id := uuid.NewString()
	settings := fmt.Sprintf("id = '%s'", id)
	if base != "" {
		settings += ", base_backup = " + s3Func(bed, base)
	}
	var gotID proto.ColStr
	err := c.Do(ctx, ch.Query{
		Body:   fmt.Sprintf("BACKUP DATABASE shop TO %s SETTINGS %s ASYNC", s3Func(bed, prefix), settings),
		Result: proto.Results{{Name: "id", Data: &gotID}, {Name: "status", Data: new(proto.ColEnum)}},
	})
	if err != nil {
		t.Fatalf("backup to %s: %v", prefix, err)
	}
	if gotID.Row(0) != id {
		t.Fatalf("backup answered id %q, want %q", gotID.Row(0), id)
	}
	waitStatus(t, ctx, c, id, "BACKUP_CREATED")
}

// waitStatus polls system.backups for the operation id until it has want,
// failing at once on an error status.
func waitStatus(t *testing.T, ctx context.Context, c *ch.Client, id, want string) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var status, errText proto.ColStr
		err := c.Do(ctx, ch.Query{
			Body:       "SELECT toString(status) AS s, error FROM system.backups WHERE id = {id:String}",
			Parameters: []proto.Parameter{param("id", id)},
			Result:     proto.Results{{Name: "s", Data: &status}, {Name: "error", Data: &errText}},
		})
		if err != nil {
			t.Fatalf("poll system.backups: %v", err)
		}
		if status.Rows() == 1 {
			switch s := status.Row(0); s {
			case want:
				return
			case "BACKUP_FAILED", "RESTORE_FAILED":
				t.Fatalf("operation %s: %s: %s", id, s, errText.Row(0))
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("operation %s never reached %s", id, want)
		case <-tick.C:
		}
	}
}
