// Package testbed starts ClickHouse's own server (run from libchdb, with
// real logins and grants) and a real S3 (MinIO) on loopback, for
// ClickVault's tests, its playground and `task testbed`. Downloads and builds are cached outside the
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
	// Users are ClickHouse logins (name → password) besides those of
	// deploy/grants.sql, which the server always has. Users[Admin] sets the
	// administrator's password. "default" is reserved: it is the engine's
	// own session and may only start the listeners.
	Users map[string]string
	// Grants are added to a user's privileges, as in GRANT statements
	// without TO ("INSERT ON clickvault.requests", or whole "REVOKE …"
	// statements). They are real grants, enforced and in system.grants.
	Grants map[string][]string
	// Settings go to the profile every user has, as in a users.xml
	// profile: {"max_backup_bandwidth": "2000000"} makes backups slow
	// enough to act on while they run.
	Settings map[string]string
	// Bucket is created in MinIO. Default: "backups".
	Bucket string
	// ObjectLockDays > 0 creates the bucket versioned, with S3 Object
	// Lock and a default retention of that many days in governance mode:
	// every object version written to it is held that long.
	ObjectLockDays int
	// S3Disk gives ClickHouse an S3 disk on MinIO's bucket DiskBucket and
	// the storage policy S3Policy on it (see S3Disk): a table created
	// with SETTINGS storage_policy = 's3' keeps its parts in MinIO.
	S3Disk bool
	// RowPolicies restrict what a user reads of a table, as a row policy
	// does: user → "db.table" → condition ("tenant_id = 42").
	RowPolicies map[string]map[string]string
	// SerialBackups sets the server's backups.allow_concurrent_backups to
	// false, as some operators run it: a BACKUP sent while another is still
	// in the server, closing included, fails with
	// CONCURRENT_ACCESS_NOT_SUPPORTED.
	SerialBackups bool
	// BackupThreads > 0 sets the server's backup_threads: how many BACKUPs
	// it runs at once (16 by default); more wait in its queue.
	BackupThreads int
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
// the npm registry, MinIO from the Go module proxy, the server process from
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
	if opts.Bucket == "" {
		opts.Bucket = "backups"
	}
	access, err := serverAccess(opts)
	if err != nil {
		return nil, fmt.Errorf("start the test bed: %w", err)
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
		ClickHouse: newClickHouse(dir, bins.Engine, bins.Libchdb, access, opts.Settings),
		MinIO:      newMinIO(dir, bins.MinIO, opts.Bucket),
	}
	// ClickHouse's own S3 credentials, for S3() without keys: MinIO's, in
	// its environment. No instance-metadata lookup: nothing but loopback.
	bed.ClickHouse.env = []string{"AWS_ACCESS_KEY_ID=" + bed.MinIO.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + bed.MinIO.SecretKey, "AWS_EC2_METADATA_DISABLED=true"}
	if err := bed.start(ctx, opts); err != nil {
		bed.Close()
		return nil, fmt.Errorf("start the test bed: %w", err)
	}
	return bed, nil
}

// start starts both servers, at once; with an S3 disk MinIO first, its
// buckets made, for ClickHouse checks its disks when it starts.
func (b *Bed) start(ctx context.Context, opts Options) error {
	startMinIO := func(ctx context.Context) error {
		if err := b.MinIO.start(ctx); err != nil {
			return err
		}
		if err := b.MinIO.createBucket(ctx, b.MinIO.Bucket, opts.ObjectLockDays); err != nil {
			return err
		}
		if opts.S3Disk {
			return b.MinIO.createBucket(ctx, DiskBucket, 0)
		}
		return nil
	}
	if opts.SerialBackups {
		if err := writeServerConfig(b.ClickHouse, "serial-backups.xml",
			"<clickhouse><backups><allow_concurrent_backups>false</allow_concurrent_backups></backups></clickhouse>\n"); err != nil {
			return err
		}
	}
	if opts.BackupThreads > 0 {
		if err := writeServerConfig(b.ClickHouse, "backup-threads.xml",
			fmt.Sprintf("<clickhouse><backup_threads>%d</backup_threads></clickhouse>\n", opts.BackupThreads)); err != nil {
			return err
		}
	}
	if opts.S3Disk {
		if err := startMinIO(ctx); err != nil {
			return err
		}
		if err := writeS3DiskConfig(b.ClickHouse, b.MinIO); err != nil {
			return err
		}
		return b.ClickHouse.start(ctx)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return b.ClickHouse.start(gctx) })
	g.Go(func() error { return startMinIO(gctx) })
	return g.Wait()
}

// serverAccess is deploy/grants.sql's users and grants plus those of opts.
func serverAccess(opts Options) (Access, error) {
	access, err := DeployAccess()
	if err != nil {
		return Access{}, err
	}
	if _, ok := access.Users[Admin]; !ok {
		access.Users[Admin] = ""
	}
	for name, password := range opts.Users {
		if name == engineUser {
			return Access{}, fmt.Errorf("user %q is reserved for the engine's own session; the administrator is %q", engineUser, Admin)
		}
		access.Users[name] = password
	}
	for name, grants := range opts.Grants {
		if _, ok := access.Users[name]; !ok {
			return Access{}, fmt.Errorf("grants for %q, who is neither in Options.Users nor in deploy/grants.sql", name)
		}
		access.Grants[name] = append(access.Grants[name], grants...)
	}
	for name, policies := range opts.RowPolicies {
		if access.Filters[name] == nil {
			access.Filters[name] = map[string]string{}
		}
		for table, condition := range policies {
			access.Filters[name][table] = condition
		}
	}
	return access, nil
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
