package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

// printer writes an answer line by line and keeps the first write error,
// so a command whose stdout is a closed pipe or a full disk fails instead
// of exiting 0 with its answer lost; the printers check it once, at the end.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *printer) println(line string) {
	p.printf("%s\n", line)
}

// flushed is the first error of p, or else of flushing tw, the
// tabwriter under it.
func (p *printer) flushed(tw *tabwriter.Writer) error {
	if p.err != nil {
		return p.err
	}
	return tw.Flush()
}

func printOperations(w io.Writer, ops []sidecar.Operation, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(ops)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := &printer{w: tw}
	p.println("ID\tSTATUS\tSTARTED\tFILES\tSIZE\tERROR")
	for _, op := range ops {
		p.printf("%s\t%s\t%s\t%d\t%s\t%s\n", op.ID, op.Status, op.StartTime.UTC().Format(time.RFC3339),
			op.NumFiles, model.FormatBytes(op.TotalSize), orDash(model.FirstLine(op.Error)))
	}
	return p.flushed(tw)
}

func printCleanup(w io.Writer, r sidecar.CleanupReport) error {
	p := &printer{w: w}
	verb := "deleted"
	if r.DryRun {
		verb = "would delete"
	}
	if len(r.Planned) == 0 {
		p.printf("%s: nothing to delete; kept chains: %v\n", r.Database, r.Kept)
	}
	done := map[string]bool{}
	for _, name := range r.Deleted {
		done[name] = true
	}
	for _, d := range r.Planned {
		v := verb
		if !r.DryRun && !done[d.Backup.Name] {
			v = "not deleted"
		}
		p.printf("%s: %s %s backup %s (chain %s): %s\n", r.Database, v, d.Backup.Kind, d.Backup.Name, d.Backup.Chain, d.Reason)
	}
	for _, o := range r.Orphans {
		p.printf("%s: orphan %s: %s (not deleted)\n", r.Database, o.Folder, o.Reason)
	}
	for _, note := range append(r.PinNotes(), r.LockNotes()...) {
		p.printf("%s: %s\n", r.Database, note)
	}
	if r.DryRun {
		printKeeps(p, r)
	}
	return p.err
}

// printKeeps says, in a dry run, which rule keeps which backup, and what
// the backups kept only as bases of kept ones cost.
func printKeeps(p *printer, r sidecar.CleanupReport) {
	basesOf := map[string]uint64{}
	for _, k := range r.Keeps {
		if len(k.Rules) == 0 {
			basesOf[k.NeededBy] += k.Backup.StoredBytes()
		}
	}
	for _, k := range r.Keeps {
		if len(k.Rules) == 0 {
			continue
		}
		line := fmt.Sprintf("%s: keep %s backup %s (chain %s, %s stored): %s", r.Database, k.Backup.Kind, k.Backup.Name,
			k.Backup.Chain, model.FormatBytes(k.Backup.StoredBytes()), strings.Join(k.Rules, ", "))
		if n := basesOf[k.Backup.Name]; n > 0 {
			line += fmt.Sprintf("; the backups it is built on, kept for it, cost %s more", model.FormatBytes(n))
		}
		p.println(line)
	}
}

func printTables(w io.Writer, tables map[string]uint64) error {
	p := &printer{w: w}
	names := make([]string, 0, len(tables))
	for name := range tables {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p.printf("  %s: %d rows\n", name, tables[name])
	}
	return p.err
}

func printVerify(w io.Writer, r model.VerifyResult) error {
	if r.Backup.Name == "" {
		return nil
	}
	p := &printer{w: w}
	p.printf("verify %s backup %s (scratch database %s, dropped; restore took %.2fs):\n", r.Backup.Kind, r.Backup.Name,
		r.Scratch, r.RestoreTook.Seconds())
	for _, t := range r.Tables {
		mark := "ok"
		switch {
		case t.Missing:
			mark = "MISSING"
		case t.CheckTable != "":
			mark = "CHECK TABLE: " + t.CheckTable
		case t.Expected != t.Restored:
			mark = "DIFFERS"
		}
		basis := "rows at backup time"
		if t.FromParts {
			basis = "rows in the backup's parts"
		}
		p.printf("  %s: %d %s, %d restored (count() %d): %s\n", t.Table, t.Expected, basis, t.Restored, t.Logical, mark)
	}
	if r.Mismatches == 0 && len(r.Tables) > 0 {
		p.println("verify passed")
	}
	return p.err
}

// printCheck prints one line per backup checked, then the summary.
func printCheck(w io.Writer, r model.CheckReport, took time.Duration) error {
	p := &printer{w: w}
	for _, b := range r.Backups {
		if b.Verdict == model.CheckGood {
			p.printf("%s %s %s: good\n", r.Database, b.Backup.Kind, b.Backup.Name)
		} else {
			p.printf("%s %s %s: BROKEN: %s\n", r.Database, b.Backup.Kind, b.Backup.Name, b.Problem)
		}
	}
	if len(r.Backups) > 0 {
		p.printf("%s: %d backups checked, %d broken, %d objects present with their sizes, in %s (no data read)\n",
			r.Database, len(r.Backups), r.Broken(), r.Objects, took.Round(time.Millisecond))
	}
	return p.err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func dayDuration(days int) time.Duration { return time.Duration(days) * 24 * time.Hour }
