package clickhouse

import (
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

func TestBuildBackupSQL(t *testing.T) {
	target := S3Target{Endpoint: "http://minio:9000/", Bucket: "b", AccessKey: "AK", SecretKey: "it's?secret"}
	cases := []struct {
		name string
		cmd  sidecar.BackupCommand
		t    S3Target
		want string
	}{
		{"full", sidecar.BackupCommand{ID: "id1", Database: "shop", Folder: "p/shop/full/N1/"}, target,
			`BACKUP DATABASE ` + "`shop`" + ` TO S3('http://minio:9000/b/p/shop/full/N1/', 'AK', 'it\'s?secret') SETTINGS id = 'id1', allow_s3_native_copy = 0, deduplicate_files = 0 ASYNC`},
		{"incremental", sidecar.BackupCommand{ID: "id2", Database: "shop", Folder: "p/shop/incremental/N2/", BaseFolder: "p/shop/full/N1/"}, target,
			`BACKUP DATABASE ` + "`shop`" + ` TO S3('http://minio:9000/b/p/shop/incremental/N2/', 'AK', 'it\'s?secret') SETTINGS id = 'id2', allow_s3_native_copy = 0, deduplicate_files = 0, base_backup = S3('http://minio:9000/b/p/shop/full/N1/', 'AK', 'it\'s?secret') ASYNC`},
		{"named collection", sidecar.BackupCommand{ID: "id3", Database: "shop", Folder: "f/"}, S3Target{Endpoint: "http://m", Bucket: "b", NamedCollection: "s3creds"},
			"BACKUP DATABASE `shop` TO S3(`s3creds`, url = 'http://m/b/f/') SETTINGS id = 'id3', allow_s3_native_copy = 0, deduplicate_files = 0 ASYNC"},
	}
	for _, c := range cases {
		got, err := BuildBackupSQL(c.cmd, c.t, BackupSettings{})
		if err != nil || got != c.want {
			t.Errorf("%s:\n got %s (%v)\nwant %s", c.name, got, err, c.want)
		}
	}
	if _, err := BuildBackupSQL(sidecar.BackupCommand{ID: "x", Database: "x; DROP TABLE y", Folder: "f/"}, target, BackupSettings{}); err == nil {
		t.Error("an injected database name was accepted")
	}
}

func TestBuildBackupSQLOfSomeTables(t *testing.T) {
	target := S3Target{Endpoint: "http://m", Bucket: "b"}
	settings := BackupSettings{S3StorageClass: "STANDARD_IA", MaxBackupBandwidth: 5000, AllowS3NativeCopy: true, DeduplicateFiles: true}
	only, _ := model.NewTableSet([]string{"orders", "items"}, nil)
	but, _ := model.NewTableSet(nil, []string{"logs"})
	for set, want := range map[*model.TableSet]string{
		&only: "BACKUP TABLE `shop`.`items`, TABLE `shop`.`orders` TO S3('http://m/b/f/') SETTINGS id = 'i', allow_s3_native_copy = 1, deduplicate_files = 1, s3_storage_class = 'STANDARD_IA', max_backup_bandwidth = 5000 ASYNC",
		&but:  "BACKUP DATABASE `shop` EXCEPT TABLES `shop`.`logs` TO S3('http://m/b/f/') SETTINGS id = 'i', allow_s3_native_copy = 1, deduplicate_files = 1, s3_storage_class = 'STANDARD_IA', max_backup_bandwidth = 5000 ASYNC",
	} {
		got, err := BuildBackupSQL(sidecar.BackupCommand{ID: "i", Database: "shop", Folder: "f/", Tables: *set}, target, settings)
		if err != nil || got != want {
			t.Errorf("\n got %s (%v)\nwant %s", got, err, want)
		}
	}
	bad := model.TableSet{Include: []string{"a`; DROP"}}
	if _, err := BuildBackupSQL(sidecar.BackupCommand{ID: "i", Database: "shop", Folder: "f/", Tables: bad}, target, settings); err == nil {
		t.Error("an injected table name was accepted")
	}
}

func TestBuildRestoreSQLOfSomeTables(t *testing.T) {
	cmd := sidecar.RestoreCommand{ID: "r", Database: "shop", Target: "shop_copy", Folder: "f/",
		Tables:     []model.TableRestore{{Source: "orders", Target: "orders_old"}},
		Partitions: []string{"202401", "it's"}, StructureOnly: true}
	got, err := BuildRestoreSQL(cmd, S3Target{Endpoint: "http://m", Bucket: "b"}, nativeCopy)
	want := "RESTORE TABLE `shop`.`orders` AS `shop_copy`.`orders_old` PARTITIONS '202401', 'it\\'s' FROM S3('http://m/b/f/') SETTINGS id = 'r', create_table = 'create', allow_s3_native_copy = 1, structure_only = 1 ASYNC"
	if err != nil || got != want {
		t.Fatalf("\n got %s (%v)\nwant %s", got, err, want)
	}
	cmd.Partitions, cmd.PartitionIDs, cmd.StructureOnly = nil, []string{"202601-8a1b", "it's"}, false
	got, err = BuildRestoreSQL(cmd, S3Target{Endpoint: "http://m", Bucket: "b"}, nativeCopy)
	want = "RESTORE TABLE `shop`.`orders` AS `shop_copy`.`orders_old` PARTITIONS ID '202601-8a1b', ID 'it\\'s' FROM S3('http://m/b/f/') SETTINGS id = 'r', create_table = 'create', allow_s3_native_copy = 1 ASYNC"
	if err != nil || got != want { // by id: a tuple key's partition too
		t.Fatalf("\n got %s (%v)\nwant %s", got, err, want)
	}
	cmd.Tables[0].Target = "x`y"
	if _, err := BuildRestoreSQL(cmd, S3Target{}, nativeCopy); err == nil {
		t.Fatal("a bad target table was accepted")
	}
}

// nativeCopy is the default [backup] setting the restore tests render with.
var nativeCopy = BackupSettings{AllowS3NativeCopy: true}

func TestBuildRestoreSQL(t *testing.T) {
	cmd := sidecar.RestoreCommand{ID: "r1", Database: "shop", Target: "shop_restored", Folder: "f/", NewDatabase: true}
	got, err := BuildRestoreSQL(cmd, S3Target{Endpoint: "http://m", Bucket: "b"}, nativeCopy)
	want := "RESTORE DATABASE `shop` AS `shop_restored` FROM S3('http://m/b/f/') SETTINGS id = 'r1', create_table = 'create', allow_s3_native_copy = 1, create_database = 'create' ASYNC"
	if err != nil || got != want {
		t.Fatalf("got %s (%v)", got, err)
	}
	// backup.allow_s3_native_copy off holds for restores too (onto an S3 disk).
	got, err = BuildRestoreSQL(cmd, S3Target{Endpoint: "http://m", Bucket: "b"}, BackupSettings{})
	if err != nil || !strings.Contains(got, ", allow_s3_native_copy = 0,") {
		t.Fatalf("native copy off: got %s (%v)", got, err)
	}
	if _, err := BuildRestoreSQL(sidecar.RestoreCommand{ID: "r", Database: "shop", Target: "a`b", Folder: "f/"}, S3Target{}, nativeCopy); err == nil {
		t.Fatal("a bad target was accepted")
	}
}

// TestBuildRestoreSQLOfASetStep: a later step of a set's restore restores
// into the tables an earlier one made (create_table 'if not exists', rows
// added with allow_non_empty_tables), leaving out tables by EXCEPT; a
// create_table value of no step is refused, never sent.
func TestBuildRestoreSQLOfASetStep(t *testing.T) {
	cmd := sidecar.RestoreCommand{ID: "r2", Database: "shop", Target: "shop", Folder: "f/", Except: []string{"events"},
		CreateTable: sidecar.CreateTableIfNotExists, AllowNonEmptyTables: true}
	got, err := BuildRestoreSQL(cmd, S3Target{Endpoint: "http://m", Bucket: "b"}, nativeCopy)
	want := "RESTORE DATABASE `shop` AS `shop` EXCEPT TABLES `shop`.`events` FROM S3('http://m/b/f/') " +
		"SETTINGS id = 'r2', create_table = 'if not exists', allow_s3_native_copy = 1, allow_non_empty_tables = 1 ASYNC"
	if err != nil || got != want {
		t.Fatalf("got %s (%v)", got, err)
	}
	cmd.CreateTable = "must-exist'; DROP"
	if _, err := BuildRestoreSQL(cmd, S3Target{}, nativeCopy); err == nil {
		t.Fatal("an unknown create_table was sent")
	}
}

func TestRedact(t *testing.T) {
	r := newRedactor("pw", "AKIA1", "s3cr3t")
	got := r.redact("Code: 499. S3('http://x', 'AKIA1', 's3cr3t') failed for user with pw")
	for _, secret := range []string{"AKIA1", "s3cr3t", " pw"} {
		if strings.Contains(got, secret) {
			t.Errorf("redacted text still has %q: %s", secret, got)
		}
	}
}

func TestErrorHeadline(t *testing.T) {
	text := "Code: 497. DB::Exception: clickvault: Not enough privileges. To execute this query, it's necessary to have the grant BACKUP ON big.*. (ACCESS_DENIED), Stack trace (when copying this message, always include the lines below):\n\n0. DB::Exception::Exception(…) @ 0x000000000d8e1a2b\n1. DB::ContextAccess::checkAccess @ 0x0000000012"
	want := "Code: 497. DB::Exception: clickvault: Not enough privileges. To execute this query, it's necessary to have the grant BACKUP ON big.*. (ACCESS_DENIED)"
	if got := ErrorHeadline(text); got != want {
		t.Fatalf("got %q", got)
	}
	if got := ErrorHeadline("Code: 1. DB::Exception: short (X)"); got != "Code: 1. DB::Exception: short (X)" {
		t.Fatalf("got %q", got)
	}
}
