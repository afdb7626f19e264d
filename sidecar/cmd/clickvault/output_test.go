package main

import (
	"encoding/json"
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
	if err := newCatalogPrinter(&closedPipe{}, false, nil, false).print(cats[0]); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("the catalog's text to a closed pipe: %v, want EPIPE", err)
	}
	var out strings.Builder
	if err := printCheck(&out, rep, time.Second); err != nil || !strings.Contains(out.String(), "3 backups checked") {
		t.Fatalf("printCheck: %v, %q", err, out.String())
	}
}

// TestListPrintsADatabaseAtATime (issue 27): `list --json` writes each
// database's catalog as it is read (a thousand were held at once), and
// its answer is the one array, indented alike, that encoding them all
// at once gave.
func TestListPrintsADatabaseAtATime(t *testing.T) {
	url := func(folder string) string { return "s3://b/" + folder }
	full := model.Backup{Folder: "p/shop/full/20261101T000000000Z", Meta: model.Meta{Name: "20261101T000000000Z", Chain: "20261101T000000000Z",
		Kind: model.KindFull, Status: model.StatusCreated, Database: "shop", Tables: map[string]uint64{"orders": 3}}}
	shop := model.Catalog{Database: "shop", Chains: []model.Chain{{Full: full, Members: []model.Backup{full}}}}
	empty := model.Catalog{Database: "empty", Orphans: []model.Orphan{{Folder: "x/", Reason: "no metadata"}}}
	for _, cats := range [][]model.Catalog{nil, {shop}, {shop, empty, shop}} {
		whole := []listedDatabase{}
		for _, cat := range cats {
			whole = append(whole, listedOf(cat, url, false))
		}
		var want, got strings.Builder
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(whole); err != nil {
			t.Fatal(err)
		}
		out := newCatalogPrinter(&got, true, url, false)
		for i, cat := range cats {
			if err := out.print(cat); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(got.String(), `"database": "`+cat.Database+`"`) || strings.Count(got.String(), `"database"`) != i+1 {
				t.Fatalf("after database %d the answer holds %d databases, want each written as it comes", i+1, strings.Count(got.String(), `"database"`))
			}
		}
		if err := out.end(); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("list --json of %d databases:\n%s\nwant, as one encoding:\n%s", len(cats), got.String(), want.String())
		}
	}
}
