package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestParallelDatabasesKeepToBackupThreads: backup.parallel_databases is
// lowered to ClickHouse's backup_threads when that is smaller, and kept
// when it is not, when the server lists no such setting (0) or when the
// read fails, each lowering or failure said in a WARN.
func TestParallelDatabasesKeepToBackupThreads(t *testing.T) {
	cases := []struct {
		name       string
		want       int
		threads    int
		err        error
		got        int
		warnsAbout string
	}{
		{"above the threads", 8, 2, nil, 2, "above clickhouse's backup_threads"},
		{"below the threads", 4, 16, nil, 4, ""},
		{"no such setting", 8, 0, nil, 8, ""},
		{"read failed", 8, 0, errors.New("code: 497, not enough privileges"), 8, "could not read clickhouse's backup_threads"},
		{"one at a time reads nothing", 1, 0, errors.New("must not be read"), 1, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var log bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&log, nil))
			read := func(context.Context) (int, error) { return c.threads, c.err }
			if got := parallelDatabases(context.Background(), c.want, read, logger); got != c.got {
				t.Errorf("parallel_databases %d, backup_threads %d (%v): got %d, want %d", c.want, c.threads, c.err, got, c.got)
			}
			if c.warnsAbout == "" && log.Len() > 0 {
				t.Errorf("logged %q, want nothing", log.String())
			}
			if c.warnsAbout != "" && (!strings.Contains(log.String(), c.warnsAbout) || !strings.Contains(log.String(), "level=WARN")) {
				t.Errorf("logged %q, want a WARN about %q", log.String(), c.warnsAbout)
			}
		})
	}
}
