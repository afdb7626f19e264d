package clickhouse_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/clickhouse"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// grantCases are users whose grants the security review misread, and more.
// Each may also write to S3, so that whether BACKUP DATABASE works for them
// turns on the BACKUP grant alone.
var grantCases = map[string][]string{
	"w_all_but_hr": {"BACKUP ON *.*", "REVOKE BACKUP ON hr*.*", "S3 ON *.*"},
	"w_sh":         {"BACKUP ON sh*.*", "S3 ON *.*"},
	"w_hr_pub":     {"BACKUP ON *.*", "REVOKE BACKUP ON hr*.*", "GRANT BACKUP ON hr_pub.*", "S3 ON *.*"},
	"w_one_table":  {"BACKUP ON shop.*", "REVOKE BACKUP ON shop.orders", "S3 ON *.*"},
	"w_all_shop":   {"ALL ON shop.*", "S3 ON *.*"},
	"w_none":       {"SELECT ON shop.*", "S3 ON *.*"},
}

// TestCanAgreesWithTheServer: for every user and database, the sidecar's
// reading of the grants says yes exactly when ClickHouse lets that user run
// BACKUP DATABASE themselves.
func TestCanAgreesWithTheServer(t *testing.T) {
	opts := testbed.Options{Users: map[string]string{}, Grants: grantCases}
	for user := range grantCases {
		opts.Users[user] = user + "-pw"
	}
	bed := testbed.New(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	admin, err := bed.ClickHouse.Dial(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	databases := []string{"shop", "shopping", "hr_payroll", "hr_pub"}
	for _, db := range databases {
		for _, q := range []string{"CREATE DATABASE " + db,
			"CREATE TABLE " + db + ".orders (a UInt8) ENGINE = MergeTree ORDER BY a", "INSERT INTO " + db + ".orders VALUES (1)"} {
			if err := admin.Do(ctx, ch.Query{Body: q}); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	d, err := clickhouse.Open(ctx, clickhouse.Config{Addr: bed.ClickHouse.Addr, User: "clickvault", Password: bed.ClickHouse.Password("clickvault")})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for user := range grantCases {
		for _, db := range databases {
			server := serverAllowsBackup(t, ctx, bed, user, db)
			got, err := d.Rights().Can(ctx, user, control.PrivBackup, db, "")
			if err != nil {
				t.Fatal(err)
			}
			if got != server {
				t.Errorf("%s on %s: ClickVault says %v, ClickHouse says %v (grants %q)", user, db, got, server, grantCases[user])
			}
		}
	}
}

// serverAllowsBackup runs BACKUP DATABASE db as user: true if it works,
// false on ACCESS_DENIED.
func serverAllowsBackup(t *testing.T, ctx context.Context, bed *testbed.Bed, user, db string) bool {
	t.Helper()
	c, err := bed.ClickHouse.Dial(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	m := bed.MinIO
	q := fmt.Sprintf("BACKUP DATABASE %s TO S3('%s', '%s', '%s')", db, m.URL("grants/"+user+"/"+db+"/"), m.AccessKey, m.SecretKey)
	var discard proto.Results
	err = c.Do(ctx, ch.Query{Body: q, Result: discard.Auto(), OnResult: func(context.Context, proto.Block) error { return nil }})
	switch {
	case err == nil:
		return true
	case ch.IsErr(err, proto.ErrAccessDenied):
		return false
	}
	t.Fatalf("%s as %s: %v", q, user, err)
	return false
}
