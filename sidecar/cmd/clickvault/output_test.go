package main

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/model"
)

// closedPipe is stdout after `clickvault check | head -1` has exited: every
// write fails.
type closedPipe struct{ writes int }

func (c *closedPipe) Write([]byte) (int, error) {
	c.writes++
	return 0, syscall.EPIPE
}

// A command whose answer cannot be written fails instead of exiting 0 with
// the answer lost, and stops writing after the first failure.
func TestPrintersReportALostAnswer(t *testing.T) {
	rep := model.CheckReport{Database: "shop", Objects: 3}
	for range 3 {
		rep.Backups = append(rep.Backups, model.CheckedBackup{BackupCheck: model.BackupCheck{Verdict: model.CheckGood}})
	}
	pipe := &closedPipe{}
	if err := printCheck(pipe, rep, time.Second); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("printCheck to a closed pipe: %v, want EPIPE", err)
	}
	if pipe.writes != 1 {
		t.Errorf("printCheck wrote %d times after the first failure, want 1 write in all", pipe.writes)
	}
	cats := []model.Catalog{{Database: "shop", Orphans: []model.Orphan{{Folder: "x/", Reason: "no metadata"}}}}
	if err := printCatalogText(&closedPipe{}, cats, false); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("printCatalogText to a closed pipe: %v, want EPIPE", err)
	}
	var out strings.Builder
	if err := printCheck(&out, rep, time.Second); err != nil || !strings.Contains(out.String(), "3 backups checked") {
		t.Fatalf("printCheck: %v, %q", err, out.String())
	}
}
