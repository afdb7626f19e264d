package sidecar

import (
	"context"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// Hooks for the external tests (package sidecar_test), which use the
// shared in-memory store: it imports this package, so in-package tests
// cannot.

// T0 is the tests' epoch.
var T0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// MarkDeleted marks a catalog's backups deleted, as a cleanup does.
var MarkDeleted = markDeleting

// FakeBackup is a backup of database db, in a layout with prefix p.
func FakeBackup(kind model.Kind, name string, status model.Status, base *model.Backup) model.Backup {
	ts, _ := model.ParseName(name)
	layout := coord.Layout{Prefix: "p"}
	b := model.Backup{Folder: layout.Folder("db", string(kind), name),
		Meta: model.Meta{Kind: kind, Name: name, Timestamp: ts, Status: status, Database: "db"}}
	if base != nil {
		f := base.Folder
		b.BaseBackupPath, b.Base = &f, base.Name
	}
	return b
}

// FakeName is the name of a backup taken d after T0.
func FakeName(d time.Duration) string { return model.NameAt(T0.Add(d)) }

func (s *Service) WriteMeta(ctx context.Context, b model.Backup) error {
	return s.catalogs.writeMeta(ctx, b)
}

func (s *Service) WriteIndex(ctx context.Context, database string, backups []model.Backup, scanned time.Time) {
	s.catalogs.writeIndex(ctx, database, backups, scanned)
}

func (s *Service) PlanBackup(ctx context.Context, req BackupRequest) (model.Catalog, model.Plan, error) {
	return s.catalogs.planBackup(ctx, req)
}

func (s *Service) SetClock(now func() time.Time) { s.now = now }

// LongerHold is longerHold, for its edge test.
var LongerHold = longerHold

// TakeTurn takes one of t, as a backup elsewhere would, until the
// returned func gives it back.
func TakeTurn(t Turns) func() {
	h, _ := t.take(context.Background())
	return h.end
}

// Held is how many of t are taken now.
func (t Turns) Held() int {
	if t.pool == nil {
		return 0
	}
	return len(t.pool.slots)
}

// Serial reports whether t sends one BACKUP at a time, having seen the
// server refuse one beside another.
func (t Turns) Serial() bool { return t.pool != nil && t.pool.serial() }

// ForgetRefusalsAfter makes refusals keep turns serial for d, until the
// returned func restores the hour.
func ForgetRefusalsAfter(d time.Duration) func() {
	serialMemory = d
	return func() { serialMemory = time.Hour }
}

// PeakManifestsOfACheck checks every chain of database's as Check does
// (checkLinks, chain by chain) and returns the most manifests the
// checker held at once.
func PeakManifestsOfACheck(ctx context.Context, s *Service, database string) (int, error) {
	cat, err := s.catalogs.Catalog(ctx, database)
	if err != nil {
		return 0, err
	}
	targets, err := model.CheckTargets(cat, "")
	if err != nil {
		return 0, err
	}
	c := newChecker(s.engine, cat)
	if err := c.list(ctx, database, targets); err != nil {
		return 0, err
	}
	for i := 0; i < len(targets); {
		chain := model.ChainOf(targets, i)
		c.checkLinks(ctx, chain, func(model.Backup, string) bool { return true })
		i += len(chain)
	}
	return c.peak, nil
}

// PeakManifestsOfReads reads the table definitions of backup name of
// database (a restore's plan) and the row counts of its parts (a verify),
// each as they are read, and returns the most manifests each held at once.
func PeakManifestsOfReads(ctx context.Context, s *Service, database, name string) (definitions, counts int, err error) {
	cat, err := s.catalogs.Catalog(ctx, database)
	if err != nil {
		return 0, 0, err
	}
	b, ok := cat.Find(name)
	if !ok {
		return 0, 0, ErrNotFound
	}
	c := newChecker(s.engine, cat)
	if _, err := c.definitions(ctx, b); err != nil {
		return 0, 0, err
	}
	definitions, c = c.peak, newChecker(s.engine, cat)
	if _, err := c.sumCounts(ctx, b, func(n string) (string, bool) { return model.CountFile(n, database) }); err != nil {
		return 0, 0, err
	}
	return definitions, c.peak, nil
}

// PeakManifestsOfAChainCheck checks the chain under backup name of
// database as a backup built on it or a restore of it does (soundChain),
// and returns its problem and the most manifests it held at once.
func PeakManifestsOfAChainCheck(ctx context.Context, s *Service, database, name string) (string, int, error) {
	cat, err := s.catalogs.Catalog(ctx, database)
	if err != nil {
		return "", 0, err
	}
	var c *checker
	newChainChecker = func(s *catalogs, cat model.Catalog) *checker { c = newChecker(s.engine, cat); return c }
	defer func() {
		newChainChecker = func(s *catalogs, cat model.Catalog) *checker { return newChecker(s.engine, cat) }
	}()
	problem, err := s.catalogs.soundChain(ctx, cat, name)
	return problem, c.peak, err
}
