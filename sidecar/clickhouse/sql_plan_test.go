package clickhouse

import (
	"testing"

	"github.com/clickvault/clickvault/sidecar"
)

func TestBuildRestoreSQLExceptTables(t *testing.T) {
	cmd := sidecar.RestoreCommand{ID: "r1", Database: "shop", Target: "shop_copy", Folder: "f/", Except: []string{"rmv", "kafka"}}
	got, err := BuildRestoreSQL(cmd, S3Target{Endpoint: "http://m", Bucket: "b"})
	want := "RESTORE DATABASE `shop` AS `shop_copy` EXCEPT TABLES `shop`.`rmv`, `shop`.`kafka` FROM S3('http://m/b/f/') SETTINGS id = 'r1', create_table = 'create' ASYNC"
	if err != nil || got != want {
		t.Fatalf("\n got %s (%v)\nwant %s", got, err, want)
	}
	cmd.Except = []string{"a`b"}
	if _, err := BuildRestoreSQL(cmd, S3Target{}); err == nil {
		t.Fatal("a bad table name was accepted")
	}
}
