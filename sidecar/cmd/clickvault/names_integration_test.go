package main

import (
	"testing"
)

// TestDatabaseNamesClickHouseAccepts: names with a hyphen, a leading digit
// or letters beyond ASCII are backed up and restored like any other.
func TestDatabaseNamesClickHouseAccepts(t *testing.T) {
	names := []string{"my-db", "1db", "données"}
	var grants []string
	for _, db := range names {
		grants = append(grants, "BACKUP ON `"+db+"`.*")
	}
	h := newHarnessWith(t, sidecarUsersWith(map[string][]string{sidecarUser: grants}))
	for _, db := range names {
		h.exec("CREATE DATABASE `" + db + "`")
		h.exec("CREATE TABLE `" + db + "`.t (a UInt64) ENGINE = MergeTree ORDER BY a")
		h.exec("INSERT INTO `" + db + "`.t SELECT number FROM numbers(100)")
		h.mustRun("backup", "--database", db)
		h.exec("INSERT INTO `" + db + "`.t SELECT number FROM numbers(100, 10)")
		h.mustRun("backup", "--database", db)
		h.mustRun("restore", "--database", db, "--target", db+"_back")
		if n := h.count("SELECT count() FROM `" + db + "_back`.t"); n != 110 {
			t.Errorf("%s: restored %d rows, want 110", db, n)
		}
	}
}
