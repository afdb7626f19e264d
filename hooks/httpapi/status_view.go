package httpapi

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/model"
)

// weight is a backup's bar width: by bytes, on a square-root scale so a
// small incremental beside a large full stays visible.
func weight(size, maxSize uint64) float64 {
	if maxSize == 0 {
		return 1
	}
	return math.Round(math.Max(0.02, math.Sqrt(float64(size)/float64(maxSize)))*1000) / 1000
}

// storedBytes is what a backup itself put in S3: the catalog's
// stored_bytes; in rows mirrored before it existed, ClickHouse's compressed
// size (its files less those kept in the base), else its total size.
func storedBytes(r *control.CatalogRow) uint64 {
	switch {
	case r.StoredBytes > 0:
		return r.StoredBytes
	case r.CompressedSize > 0:
		return r.CompressedSize
	case r.UncompressedSize > 0:
		return r.UncompressedSize
	}
	return r.TotalSize
}

func backupTitle(r *control.CatalogRow) string {
	t := fmt.Sprintf("%s %s, %s, %s stored (%s logical, its bases included)", r.Kind, r.Name, r.Status, model.FormatBytes(storedBytes(r)), model.FormatBytes(r.TotalSize))
	if r.CheckVerdict != "" {
		t += ", check " + string(r.CheckVerdict)
	}
	if r.CheckProblem != "" {
		t += ": " + r.CheckProblem
	}
	if r.Error != "" {
		t += ": " + r.Error
	}
	if len(r.Copies) > 0 {
		t += ", copied to " + strings.Join(r.Copies, ", ")
	}
	return t
}

// A database's timelines show its newest chainsShown chains, each with its
// newest backupsShown backups, and count the rest: an hourly schedule kept
// 90 days is 2,160 rows a database, and a page of 50 such databases was
// 25 MB of HTML (every backup a bar, the deleted ones too). The catalog
// (clickvault.backups, list) has them all.
const (
	chainsShown  = 4
	backupsShown = 48
)

// finishChain sums a chain's completed backups up and keeps its newest
// backupsShown for the timeline.
func finishChain(ch *chainView, sizes map[string]uint64) chainView {
	completed := 0
	var total uint64
	for _, b := range ch.Backups {
		if b.Status == string(model.CatalogCompleted) {
			completed++
			total += sizes[b.Name]
		}
	}
	ch.Depth, ch.Size = fmt.Sprintf("%d completed", completed), model.FormatBytes(total)
	slices.SortFunc(ch.Backups, func(a, b backupView) int { return strings.Compare(a.Name, b.Name) }) // names are times
	if n := len(ch.Backups); n > backupsShown {
		ch.Earlier, ch.Backups = n-backupsShown, ch.Backups[n-backupsShown:]
	}
	return *ch
}

func (v *databaseView) rpoFacts(newest *control.CatalogRow, now time.Time, rpo time.Duration) {
	switch {
	case newest == nil:
		v.RPOClass, v.RPOText = "bad", "No completed backup"
		return
	case newest.FinishedAt != nil:
		v.AgeSeconds = int64(now.Sub(*newest.FinishedAt).Seconds())
	case newest.StartedAt != nil:
		v.AgeSeconds = int64(now.Sub(*newest.StartedAt).Seconds())
	}
	age := time.Duration(v.AgeSeconds) * time.Second
	v.RPOText = fmt.Sprintf("Newest backup %s old", roundAge(age))
	v.RPOClass = "none"
	if rpo > 0 {
		v.RPOText += fmt.Sprintf("; RPO %s", roundAge(rpo))
		v.RPOClass = "ok"
		if age > rpo {
			v.RPOClass, v.RPOText = "bad", v.RPOText+": late"
		}
	}
}

func (v *databaseView) checkFacts(rows []control.CatalogRow, last *control.CatalogRow) {
	if last == nil {
		v.CheckClass, v.CheckText = "none", "Never checked"
		return
	}
	broken := 0
	for _, r := range rows {
		if r.CheckVerdict == model.CheckBroken && r.Status != model.CatalogDeleted {
			broken++
		}
	}
	v.CheckStatus, v.CheckClass = string(model.CheckGood), "ok"
	v.CheckText = fmt.Sprintf("Last check %s: all good", last.CheckedAt.UTC().Format("2006-01-02 15:04"))
	if broken > 0 {
		v.CheckStatus, v.CheckClass = string(model.CheckBroken), "bad"
		v.CheckText = fmt.Sprintf("Last check %s: %d backups broken", last.CheckedAt.UTC().Format("2006-01-02 15:04"), broken)
	}
}

func (v *databaseView) verifyFacts(last *control.CatalogRow) {
	if last == nil {
		v.VerifyClass, v.VerifyText = "none", "Never verified"
		return
	}
	v.VerifyStatus = string(last.VerifyVerdict)
	v.VerifyClass = "ok"
	if last.VerifyVerdict != model.VerifyPassed {
		v.VerifyClass = "bad"
	}
	v.VerifyText = fmt.Sprintf("Last verify %s: %s, restore took %.1f s (measured RTO)", last.VerifiedAt.UTC().Format("2006-01-02 15:04"),
		last.VerifyVerdict, last.VerifyRestoreSec)
}

// copyFacts say which copy targets hold the newest completed backup: ok
// when every one does, late when some do not (yet).
func (v *databaseView) copyFacts(newest *control.CatalogRow, targets []string) {
	switch {
	case len(targets) == 0:
		return
	case newest == nil:
		v.CopyClass, v.CopyText = "none", "No backup to copy"
		return
	}
	var missing []string
	for _, t := range targets {
		if !slices.Contains(newest.Copies, t) {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		v.CopyClass, v.CopyText = "ok", "Newest backup copied to "+strings.Join(targets, ", ")
		return
	}
	v.CopyClass, v.CopyText = "late", "Newest backup not yet copied to "+strings.Join(missing, ", ")
}

func roundAge(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	case d >= time.Hour:
		return strings.TrimSuffix(strings.TrimSuffix(d.Round(time.Minute).String(), "0s"), "0m")
	}
	return d.Round(time.Second).String()
}
