package sidecar

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// checks checks backups' objects against their manifests and keeps the
// last check and verify of each backup.
type checks struct {
	*engine
	catalogs *catalogs
}

// Check confirms, without restoring and without reading any data, that
// every object the completed backups of a database need is in the bucket
// with the size ClickHouse's manifest states: it reads each backup's
// .backup manifest (one GET each) and lists the database's folder (LIST),
// and follows files kept in a base backup down the chain to the backup
// that holds them. A backup with a missing or short object is broken, and
// so is every backup built on it. With name, only that backup and the
// backups it is built on are checked. The result is kept in the bucket
// (CheckKey) for the catalog; err is ErrBroken when a backup is broken.
func (s *checks) Check(ctx context.Context, database, name string) (model.CheckReport, error) {
	report := model.CheckReport{Database: database}
	if err := model.ValidateIdentifier("database", database); err != nil {
		return report, err
	}
	// Pinned: a backup a cleanup deleted under the check would read as
	// broken. A check of every backup keeps every backup while it runs.
	pin, err := s.TakePin(ctx, database, PinCheck, "")
	if err != nil {
		return report, err
	}
	defer pin.Release(ctx)
	cat, err := s.catalogs.Catalog(ctx, database)
	if err != nil {
		return report, err
	}
	targets, err := model.CheckTargets(cat, name)
	if err != nil {
		return report, err
	}
	if name != "" {
		pin.Narrow(ctx, name)
	}
	c := newChecker(s.engine, cat)
	if err := c.list(ctx, database, targets); err != nil {
		return report, err
	}
	now := s.now().UTC()
	broken := map[string]bool{}
	for i := 0; i < len(targets); {
		chain := model.ChainOf(targets, i) // a base is always in its backup's chain
		c.checkLinks(ctx, chain, func(b model.Backup, problem string) bool {
			if problem == "" && broken[b.Base] {
				problem = "built on broken backup " + b.Base
			}
			status := model.CheckGood
			if problem != "" {
				status, broken[b.Name] = model.CheckBroken, true
			}
			report.Backups = append(report.Backups, model.CheckedBackup{Backup: b, BackupCheck: model.BackupCheck{Verdict: status, Problem: problem, CheckedAt: now}})
			return true
		})
		i += len(chain)
	}
	report.Objects = c.confirmed
	if err := s.saveChecks(ctx, cat, report.Backups); err != nil {
		return report, err
	}
	if n := report.Broken(); n > 0 {
		first := report.FirstBroken()
		return report, fmt.Errorf("%w: %d of %d backups of %s cannot be restored; first: %s: %s", model.ErrBroken, n,
			len(report.Backups), database, first.Backup.Name, first.Problem)
	}
	return report, nil
}

type manifestRead struct {
	files   map[model.FileKey]model.ManifestFile
	all     []model.ManifestFile
	problem string
}

// checker holds what one check read: the sizes of the objects listed, the
// manifests, and each file's verdict by backup and file (a file of a base
// is looked at once, however many incrementals use it).
type checker struct {
	s     *engine
	cat   model.Catalog
	sizes map[string]int64
	// mu guards manifests: verify's part readers look them up in parallel.
	mu        sync.Mutex
	manifests map[string]manifestRead
	// peak is the most manifests held at once (tests bound it).
	peak int
	// listed are the links whose listing matched the summary of their
	// objects recorded when they completed (soundChain): their objects are
	// there, so what they keep in their own bases is not followed.
	listed    map[string]bool
	memo      map[string]map[string]string
	confirmed int
}

func newChecker(s *engine, cat model.Catalog) *checker {
	return &checker{s: s, cat: cat, manifests: map[string]manifestRead{}, memo: map[string]map[string]string{}}
}

// list reads the sizes of every object of the database's folder, and of
// the folder of each seed-layout backup among targets.
func (c *checker) list(ctx context.Context, database string, targets []model.Backup) error {
	c.sizes = map[string]int64{}
	roots := []string{c.s.layout.DatabaseRoot(database)}
	for _, b := range targets {
		if !strings.HasPrefix(b.Folder, roots[0]) {
			roots = append(roots, b.Folder)
		}
	}
	for _, root := range roots {
		l, err := c.s.store.List(ctx, root, true)
		if err != nil {
			return fmt.Errorf("list %s: %w", root, err)
		}
		for _, o := range l.Objects {
			c.sizes[o.Key] = o.Size
		}
	}
	return nil
}

// Reading manifests: at most manifestReaders at once, and at most
// manifestBytesInFlight bytes of them (by the sizes the listing gave), so a
// chain of big manifests is read a few at a time.
const (
	manifestReaders       = 16
	manifestBytesInFlight = 64 << 20
)

// manifestWindow is how many links' manifests checkLinks reads at once,
// ahead of the link it checks, and objectsOf down a chain.
const manifestWindow = 4

// checkLinks checks links, one chain's, oldest first, handing each link's
// first problem ("" = sound) to checked, until it returns false. A link
// needs its own manifest and its base's, with the base's verdicts: the
// manifests are read a window at a time, and a link's manifest and
// verdicts are dropped once no link left is it or is built on it. So a
// check of a chain holds a few manifests, not all of them (each lists
// every file of the database: a chain of 42 links of 50,000 files held
// some 900 MB).
func (c *checker) checkLinks(ctx context.Context, links []model.Backup, checked func(b model.Backup, problem string) bool) {
	for i, b := range links {
		if i%manifestWindow == 0 {
			c.loadManifests(ctx, links[i:min(i+manifestWindow, len(links))])
		}
		if !checked(b, c.backup(ctx, b)) {
			return
		}
		c.forgetAllBut(links[i+1:])
	}
}

// forgetAllBut drops the manifests and verdicts of every backup that none
// of rest is or is built on.
func (c *checker) forgetAllBut(rest []model.Backup) {
	needed := map[string]bool{}
	for _, b := range rest {
		needed[b.Name], needed[b.Base] = true, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for name := range c.manifests {
		if !needed[name] {
			delete(c.manifests, name)
		}
	}
	for name := range c.memo {
		if !needed[name] {
			delete(c.memo, name)
		}
	}
}

// loadManifests reads the manifests of backups in parallel, before the
// files are followed one backup at a time.
func (c *checker) loadManifests(ctx context.Context, backups []model.Backup) {
	reads := make([]manifestRead, len(backups))
	budget := semaphore.NewWeighted(manifestBytesInFlight)
	var g errgroup.Group
	g.SetLimit(manifestReaders)
	for i, b := range backups {
		weight := min(max(c.sizes[coord.BackupFileKey(b.Folder)], 1), manifestBytesInFlight)
		if err := budget.Acquire(ctx, weight); err != nil {
			break // ctx ended: the backups not read are read, and fail, one by one
		}
		g.Go(func() error {
			defer budget.Release(weight)
			reads[i] = c.readManifest(ctx, b)
			return nil
		})
	}
	_ = g.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, b := range backups {
		if reads[i].all != nil || reads[i].problem != "" {
			c.manifests[b.Name] = reads[i]
		}
	}
	c.peak = max(c.peak, len(c.manifests))
}

func (c *checker) manifest(ctx context.Context, b model.Backup) manifestRead {
	c.mu.Lock()
	m, ok := c.manifests[b.Name]
	c.mu.Unlock()
	if ok {
		return m
	}
	read := c.readManifest(ctx, b)
	c.mu.Lock()
	c.manifests[b.Name] = read
	c.peak = max(c.peak, len(c.manifests))
	c.mu.Unlock()
	return read
}

// baseFile finds the part of f that b keeps in its base: the base backup
// and its manifest's entry of that size and checksum, or why not.
func (c *checker) baseFile(ctx context.Context, b model.Backup, f model.ManifestFile) (model.Backup, model.ManifestFile, string) {
	base, ok := c.cat.Find(b.Base)
	if !ok {
		return base, model.ManifestFile{}, fmt.Sprintf("file %s is kept in base backup %q, which is gone", f.Name, b.Base)
	}
	bm := c.manifest(ctx, base)
	if bm.problem != "" {
		return base, model.ManifestFile{}, fmt.Sprintf("file %s is kept in base backup %s: %s", f.Name, base.Name, bm.problem)
	}
	inBase, ok := bm.files[model.FileKey{Size: f.BaseSize, Checksum: f.BaseChecksum}]
	if !ok {
		return base, model.ManifestFile{}, fmt.Sprintf("file %s is kept in base backup %s, whose manifest does not list it", f.Name, base.Name)
	}
	return base, inBase, ""
}

// readManifest reads and parses one backup's .backup object.
func (c *checker) readManifest(ctx context.Context, b model.Backup) manifestRead {
	var read manifestRead
	data, _, err := c.s.store.Get(ctx, coord.BackupFileKey(b.Folder))
	switch {
	case errors.Is(err, ErrNotFound):
		read.problem = "object " + coord.BackupFileKey(b.Folder) + " (ClickHouse's manifest) is missing"
	case err != nil:
		read.problem = "cannot read " + coord.BackupFileKey(b.Folder) + ": " + err.Error()
	default:
		m, perr := model.ParseManifest(data)
		if perr != nil {
			read.problem = coord.BackupFileKey(b.Folder) + ": " + perr.Error()
		}
		read.all, read.files = m.Files, m.ByKey()
	}
	return read
}

// backup returns the first problem of b's files, or "". Every file is
// judged, past the first problem too: a link built on b finds its files'
// verdicts in b's (checkLinks drops the manifests further down).
func (c *checker) backup(ctx context.Context, b model.Backup) string {
	m := c.manifest(ctx, b)
	if m.problem != "" {
		return m.problem
	}
	first := ""
	for _, f := range m.all {
		if f.Size == 0 {
			continue
		}
		if p := c.file(ctx, b, f); p != "" && first == "" {
			first = p
		}
	}
	return first
}

// file checks one file of b: its part in the base (found there by base
// size and checksum, and checked there), and its own object.
func (c *checker) file(ctx context.Context, b model.Backup, f model.ManifestFile) string {
	if p, ok := c.memo[b.Name][f.Name]; ok {
		return p
	}
	p := c.fileUncached(ctx, b, f)
	if c.memo[b.Name] == nil {
		c.memo[b.Name] = map[string]string{}
	}
	c.memo[b.Name][f.Name] = p
	return p
}

func (c *checker) fileUncached(ctx context.Context, b model.Backup, f model.ManifestFile) string {
	if f.BaseSize > 0 {
		base, inBase, problem := c.baseFile(ctx, b, f)
		if problem != "" {
			return problem // the base's manifest does not list it: read even for a base listed as summed
		}
		// A base whose listing matched its summary holds its objects:
		// following its entry down would read the manifest of every link
		// under it, each listing every file of the database.
		if !c.listed[base.Name] {
			if p := c.file(ctx, base, inBase); p != "" {
				return p
			}
		}
	}
	if f.StoredSize() == 0 {
		return ""
	}
	key := coord.FileKey(b.Folder, f.DataFile)
	size, ok := c.sizes[key]
	switch {
	case !ok:
		return fmt.Sprintf("object %s is missing", key)
	case size < 0 || uint64(size) != f.StoredSize():
		return fmt.Sprintf("object %s has %d bytes, the manifest says %d", key, size, f.StoredSize())
	}
	c.confirmed++
	return ""
}
