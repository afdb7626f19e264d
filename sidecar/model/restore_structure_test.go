package model

import (
	"reflect"
	"strings"
	"testing"
)

// A CREATE as ClickHouse stores it in a backup's metadata.
const eventsCreate = "CREATE TABLE shop.events UUID 'c0ffee00-0000-4000-8000-000000000001'\n(\n" +
	"    `id` UInt64,\n    `d` Date DEFAULT today(),\n    `v` String CODEC(ZSTD(1)),\n" +
	"    `at` DateTime64(3, 'UTC') COMMENT 'when, (a, b)',\n    `t` Tuple(a UInt8, b Nullable(String)),\n" +
	"    `m` UInt32 MATERIALIZED toYYYYMM(d),\n    `x` UInt64 ALIAS id * 2,\n    `e` UInt8 EPHEMERAL,\n" +
	"    index UInt32,\n    INDEX iv v TYPE bloom_filter GRANULARITY 1,\n    PROJECTION p (SELECT id ORDER BY v),\n" +
	"    CONSTRAINT c CHECK id > 0\n)\nENGINE = MergeTree\nPARTITION BY toYYYYMM(d)\nORDER BY id\nSETTINGS index_granularity = 8192"

func TestBackupColumnsReadsThePhysicalColumns(t *testing.T) {
	cols, ok := BackupColumns(eventsCreate)
	want := []Column{{"id", "UInt64"}, {"d", "Date"}, {"v", "String"}, {"at", "DateTime64(3, 'UTC')"},
		{"t", "Tuple(a UInt8, b Nullable(String))"}, {"m", "UInt32"}, {"index", "UInt32"}}
	if !ok || !reflect.DeepEqual(cols, want) {
		t.Fatalf("BackupColumns = %v, %v; want %v", cols, ok, want)
	}
	if _, ok := BackupColumns("CREATE TABLE shop.copy AS shop.events ENGINE = MergeTree ORDER BY id"); ok {
		t.Fatal("a CREATE … AS another declares no columns, and says so")
	}
}

func TestDiffColumnsNamesEachDifference(t *testing.T) {
	backup := []Column{{"id", "UInt64"}, {"d", "Date"}, {"old", "String"}, {"at", "DateTime64(3, 'UTC')"}}
	live := []Column{{"d", "Date"}, {"id", "UInt32"}, {"at", "DateTime64(3,'UTC')"}, {"note", "String"}}
	got := strings.Join(DiffColumns(live, backup), "; ")
	want := "column id is UInt32 now, UInt64 in the backup; column note String was added since the backup; " +
		"column old String was dropped since the backup"
	if got != want {
		t.Fatalf("DiffColumns = %q\nwant %q", got, want)
	}
	if d := DiffColumns(backup, backup); len(d) != 0 {
		t.Fatalf("the same columns differ: %v", d)
	}
}

func TestResolvePartitionsByID(t *testing.T) {
	have := []Partition{{ID: "202601-eu", Value: "(202601,'eu')"}, {ID: "202602", Value: "202602"}}
	values, ids, err := ResolvePartitions([]string{"(202601,'eu')", "202602", "202603"}, have)
	if err != nil || !reflect.DeepEqual(ids, []string{"202601-eu", "202602"}) || !reflect.DeepEqual(values, []string{"202603"}) {
		t.Fatalf("ResolvePartitions = %v, %v, %v", values, ids, err)
	}
	if _, _, err := ResolvePartitions([]string{"(202603,'eu')"}, have); err == nil || !strings.Contains(err.Error(), "not in the live table") {
		t.Fatalf("a tuple the live table lacks: %v, want a refusal saying why", err)
	}
}
