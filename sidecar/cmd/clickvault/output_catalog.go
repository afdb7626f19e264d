package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/clickvault/clickvault/sidecar/model"
)

// listedBackup and listedChain are the JSON of `list --json`.
type listedBackup struct {
	Name             string              `json:"name"`
	Kind             string              `json:"kind"`
	Status           model.CatalogStatus `json:"status"`
	Base             string              `json:"base"`
	Timestamp        time.Time           `json:"timestamp"`
	FinishedAt       *time.Time          `json:"finished_at,omitempty"`
	NumFiles         uint64              `json:"num_files"`
	StoredBytes      uint64              `json:"stored_bytes"` // what the backup added to the bucket
	TotalSize        uint64              `json:"total_size"`   // logical: what a restore brings back, bases included
	UncompressedSize uint64              `json:"uncompressed_size"`
	CompressedSize   uint64              `json:"compressed_size"`
	BackupID         string              `json:"clickhouse_backup_id"`
	Location         string              `json:"location"`
	Legacy           bool                `json:"legacy,omitempty"`
	Error            string              `json:"error,omitempty"`
	TableSet         string              `json:"table_set"`
	Tables           map[string]uint64   `json:"tables"`      // rows per table at backup time
	TableBytes       map[string]uint64   `json:"table_bytes"` // size of each table's files in the backup
	// KindReason says why a full or an incremental; FullForced marks a
	// full taken instead of the chain's next link.
	KindReason string `json:"kind_reason,omitempty"`
	FullForced bool   `json:"full_forced,omitempty"`
}

type listedChain struct {
	Name     string `json:"name"`
	TableSet string `json:"table_set"`
	Depth    int    `json:"depth"`
	// Size is what deleting the chain would free (StoredBytes, kept under
	// its first name); LogicalBytes what a restore of its newest backup
	// brings back.
	Size         uint64         `json:"size"`
	StoredBytes  uint64         `json:"stored_bytes"`
	LogicalBytes uint64         `json:"logical_bytes"`
	Start        time.Time      `json:"start"`
	End          time.Time      `json:"end"`
	Backups      []listedBackup `json:"backups"`
}

type listedDatabase struct {
	Database string         `json:"database"`
	Chains   []listedChain  `json:"chains"`
	Orphans  []model.Orphan `json:"orphans"`
}

// catalogPrinter prints `list`'s answer a database at a time, so a list
// of a thousand databases holds one catalog, not all of them: print for
// each database, then end.
type catalogPrinter interface {
	print(cat model.Catalog) error
	end() error
}

func newCatalogPrinter(w io.Writer, asJSON bool, url func(string) string, fullOnly bool) catalogPrinter {
	if asJSON {
		return &catalogJSON{w: w, url: url, fullOnly: fullOnly}
	}
	return &catalogText{w: w, fullOnly: fullOnly}
}

// catalogJSON writes one JSON array, element by element, indented as one
// encoding of the whole array would be.
type catalogJSON struct {
	w        io.Writer
	url      func(string) string
	fullOnly bool
	written  int
}

func (j *catalogJSON) print(cat model.Catalog) error {
	data, err := json.MarshalIndent(listedOf(cat, j.url, j.fullOnly), "  ", "  ")
	if err != nil {
		return fmt.Errorf("encode the catalog of %s: %w", cat.Database, err)
	}
	sep := ",\n  "
	if j.written == 0 {
		sep = "[\n  "
	}
	j.written++
	_, err = fmt.Fprintf(j.w, "%s%s", sep, data)
	return err
}

func (j *catalogJSON) end() error {
	closing := "\n]\n"
	if j.written == 0 {
		closing = "[]\n"
	}
	_, err := io.WriteString(j.w, closing)
	return err
}

// listedOf is one database's catalog as `list --json` prints it.
func listedOf(cat model.Catalog, url func(string) string, fullOnly bool) listedDatabase {
	db := listedDatabase{Database: cat.Database, Chains: []listedChain{}, Orphans: cat.Orphans}
	if db.Orphans == nil {
		db.Orphans = []model.Orphan{}
	}
	for _, ch := range cat.Chains {
		lc := listedChain{Name: ch.Name(), TableSet: ch.Full.TableSet.String(), Depth: ch.Depth(), Size: ch.StoredBytes(),
			StoredBytes: ch.StoredBytes(), LogicalBytes: ch.LogicalBytes(), Start: ch.Full.Time(), End: ch.Full.Time()}
		for _, m := range ch.Members {
			if fullOnly && m.Kind != model.KindFull {
				continue
			}
			lc.Backups = append(lc.Backups, listedBackup{Name: m.Name, Kind: string(m.Kind), Status: m.CatalogStatus(),
				Base: m.Base, Timestamp: m.Time(), FinishedAt: m.FinishedAt, NumFiles: m.NumFiles, StoredBytes: m.StoredBytes(), TotalSize: m.TotalSize,
				UncompressedSize: m.UncompressedSize, CompressedSize: m.CompressedSize, BackupID: m.BackupID,
				Location: url(m.Folder), Legacy: m.Legacy, Error: m.Error, TableSet: m.TableSet.String(), Tables: m.Tables, TableBytes: m.TableBytes,
				KindReason: m.KindReason, FullForced: m.FullForced})
		}
		if newest, ok := ch.Newest(); ok {
			lc.End = newest.Time()
		}
		db.Chains = append(db.Chains, lc)
	}
	return db
}

// catalogText writes a table, aligned a database at a time (a tabwriter
// holds every line until it is flushed).
type catalogText struct {
	w        io.Writer
	fullOnly bool
	headed   bool
}

// catalogHeader: STORED is what the backup added to the bucket; LOGICAL
// what a restore of it brings back (its bases' files included).
const catalogHeader = "DATABASE\tCHAIN\tBACKUP\tKIND\tSTATUS\tSTORED\tLOGICAL\tBASE"

func (t *catalogText) print(cat model.Catalog) error {
	tw := tabwriter.NewWriter(t.w, 0, 4, 2, ' ', 0)
	p := &printer{w: tw}
	if !t.headed {
		p.println(catalogHeader)
		t.headed = true
	}
	for _, ch := range cat.Chains {
		for _, m := range ch.Members {
			if t.fullOnly && m.Kind != model.KindFull {
				continue
			}
			p.printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cat.Database, ch.Name(), m.Name, m.Kind,
				m.CatalogStatus(), model.FormatBytes(m.StoredBytes()), model.FormatBytes(m.TotalSize), orDash(m.Base))
		}
	}
	for _, o := range cat.Orphans {
		p.printf("%s\t-\t%s\torphan\t-\t-\t-\t%s\n", cat.Database, o.Folder, o.Reason)
	}
	return p.flushed(tw)
}

// end prints the header of a list of no database.
func (t *catalogText) end() error {
	if t.headed {
		return nil
	}
	return t.print(model.Catalog{})
}
