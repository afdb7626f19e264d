package clickhouse

import (
	"testing"

	"github.com/clickvault/clickvault/sidecar"
)

func TestBuildRestoreSQLExceptTables(t *testing.T) {
	cmd := sidecar.RestoreCommand{ID: "r1", Database: "shop", Target: "shop_copy", Folder: "f/", Except: []string{"rmv", "kafka"}}
	got, err := BuildRestoreSQL(cmd, S3Target{Endpoint: "http://m", Bucket: "b"}, nativeCopy)
	want := "RESTORE DATABASE `shop` AS `shop_copy` EXCEPT TABLES `shop`.`rmv`, `shop`.`kafka` FROM S3('http://m/b/f/') SETTINGS id = 'r1', create_table = 'create', allow_s3_native_copy = 1 ASYNC"
	if err != nil || got != want {
		t.Fatalf("\n got %s (%v)\nwant %s", got, err, want)
	}
	cmd.Except = []string{"a`b"}
	if _, err := BuildRestoreSQL(cmd, S3Target{}, nativeCopy); err == nil {
		t.Fatal("a bad table name was accepted")
	}
}
