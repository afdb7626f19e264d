package model

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Chain is a completed or failed full backup and the incrementals built on it.
type Chain struct {
	Full    Backup
	Members []Backup // the full first, then incrementals oldest first
}

// Name of a chain is the name of its full backup.
func (c Chain) Name() string { return c.Full.Name }

// Completed returns the members that completed, oldest first.
func (c Chain) Completed() []Backup {
	var out []Backup
	for _, m := range c.Members {
		if m.Completed() {
			out = append(out, m)
		}
	}
	return out
}

// Depth is the number of completed backups in the chain.
func (c Chain) Depth() int { return len(c.Completed()) }

// Newest is the newest completed member, if any.
func (c Chain) Newest() (Backup, bool) {
	done := c.Completed()
	if len(done) == 0 {
		return Backup{}, false
	}
	return done[len(done)-1], true
}

// StoredBytes is what deleting the chain would free: the bytes every
// member added to the bucket, failed ones included (their objects are
// there until cleanup removes them).
func (c Chain) StoredBytes() uint64 {
	var n uint64
	for _, m := range c.Members {
		n += m.StoredBytes()
	}
	return n
}

// LogicalBytes is what a restore of the chain's newest completed backup
// brings back: that backup's total size, its bases' files included.
func (c Chain) LogicalBytes() uint64 {
	if newest, ok := c.Newest(); ok {
		return newest.TotalSize
	}
	return 0
}

// Running reports whether a member is still being written.
func (c Chain) Running() bool {
	for _, m := range c.Members {
		if m.Status == StatusCreating {
			return true
		}
	}
	return false
}

// Orphan is something in the bucket that belongs to no usable chain.
type Orphan struct {
	Folder string
	Reason string
}

// Catalog is every backup of one database, as chains.
type Catalog struct {
	Database string
	Chains   []Chain // newest first
	Orphans  []Orphan
	// Scanned is when every metadata object behind this catalog was last
	// read: now for a full scan, the index's scan time when entries came
	// from the catalog index.
	Scanned time.Time
	// byName finds a backup without a scan: following a chain of 1,000
	// backups base by base must not cost a million comparisons.
	byName map[string]Backup
}

// BuildCatalog links backups into chains: an incremental belongs to the
// chain of its base. One whose base is missing is reported as an orphan,
// never dropped quietly (the seed tool's defect).
func BuildCatalog(database string, backups []Backup, dataOnly []string) Catalog {
	sorted := append([]Backup(nil), backups...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Time().Before(sorted[j].Time()) })
	cat := Catalog{Database: database}
	chainOf := map[string]int{} // folder → index in cat.Chains
	for _, b := range sorted {
		if b.Kind == KindFull {
			b.Chain = b.Name
			cat.Chains = append(cat.Chains, Chain{Full: b, Members: []Backup{b}})
			chainOf[b.Folder] = len(cat.Chains) - 1
			continue
		}
		base := baseFolder(b)
		idx, ok := chainOf[base]
		if !ok {
			cat.Orphans = append(cat.Orphans, Orphan{Folder: b.Folder,
				Reason: fmt.Sprintf("incremental %s: its base %s is gone", b.Name, base)})
			continue
		}
		b.Chain = cat.Chains[idx].Name()
		cat.Chains[idx].Members = append(cat.Chains[idx].Members, b)
		chainOf[b.Folder] = idx
	}
	for _, folder := range dataOnly {
		cat.Orphans = append(cat.Orphans, Orphan{Folder: folder, Reason: "backup data without metadata"})
	}
	// Newest chain first.
	sort.SliceStable(cat.Chains, func(i, j int) bool { return cat.Chains[i].Full.Time().After(cat.Chains[j].Full.Time()) })
	cat.byName = map[string]Backup{}
	for _, ch := range cat.Chains {
		for _, m := range ch.Members {
			cat.byName[m.Name] = m
		}
	}
	return cat
}

// baseFolder is the folder an incremental was built on. ClickVault records
// it in base_backup_path, as the seed did.
func baseFolder(b Backup) string {
	if b.BaseBackupPath == nil {
		return ""
	}
	p := *b.BaseBackupPath
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// With returns the catalog with b in place of the backup of its folder (or
// added): what the catalog is once b is recorded. Its orphans and scan time
// are c's.
func (c Catalog) With(b Backup) Catalog {
	backups := make([]Backup, 0, len(c.byName)+1)
	for _, x := range c.All() {
		if x.Folder != b.Folder {
			backups = append(backups, x)
		}
	}
	out := BuildCatalog(c.Database, append(backups, b), nil)
	out.Orphans = append(out.Orphans, c.Orphans...)
	out.Scanned = c.Scanned
	return out
}

// All returns every backup in the chains, newest first.
func (c Catalog) All() []Backup {
	var out []Backup
	for _, ch := range c.Chains {
		out = append(out, ch.Members...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time().After(out[j].Time()) })
	return out
}

// Find returns the backup with this name.
func (c Catalog) Find(name string) (Backup, bool) {
	if c.byName != nil {
		b, ok := c.byName[name]
		return b, ok
	}
	for _, ch := range c.Chains {
		for _, b := range ch.Members {
			if b.Name == name {
				return b, true
			}
		}
	}
	return Backup{}, false
}

// FindRequest finds the backup taken for a request ("" finds none).
func (c Catalog) FindRequest(requestID string) (Backup, bool) {
	if requestID == "" {
		return Backup{}, false
	}
	for _, b := range c.All() {
		if b.RequestID == requestID {
			return b, true
		}
	}
	return Backup{}, false
}

// NewestCompleted is the newest completed, restorable backup, at or before
// asOf when it is set, that holds every one of tables.
func (c Catalog) NewestCompleted(asOf time.Time, tables ...string) (Backup, bool) {
	for _, b := range c.All() {
		if b.Completed() && (asOf.IsZero() || !b.Time().After(asOf)) && c.Restorable(b) && b.HoldsTables(tables) == "" {
			return b, true
		}
	}
	return Backup{}, false
}

// HoldsTables returns the first of tables the backup does not hold, or "".
func (b Backup) HoldsTables(tables []string) string {
	for _, t := range tables {
		if _, ok := b.Tables[t]; !ok {
			return t
		}
	}
	return ""
}

// NewestCompletedChain is the chain of the newest completed full backup.
func (c Catalog) NewestCompletedChain() (Chain, bool) {
	for _, ch := range c.Chains {
		if ch.Full.Completed() {
			return ch, true
		}
	}
	return Chain{}, false
}

// Restorable reports whether b and every backup it is built on completed.
func (c Catalog) Restorable(b Backup) bool {
	for _, ch := range c.Chains {
		if ch.Name() != b.Chain {
			continue
		}
		byFolder := map[string]Backup{}
		for _, m := range ch.Members {
			byFolder[m.Folder] = m
		}
		for cur, ok := b, true; ok; cur, ok = byFolder[baseFolder(cur)] {
			if !cur.Completed() {
				return false
			}
			if cur.Kind == KindFull {
				return true
			}
		}
	}
	return false
}
