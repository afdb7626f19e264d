package sidecar

import (
	"context"
	"time"
)

// Hooks for the external tests (package sidecar_test), which use the
// shared in-memory store: it imports this package, so in-package tests
// cannot.

var (
	T0          = t0
	TestBackup  = backup
	TestName    = name
	MarkDeleted = markDeleting
)

func (s *Service) WriteMeta(ctx context.Context, b Backup) error { return s.catalogs.writeMeta(ctx, b) }

func (s *Service) WriteIndex(ctx context.Context, database string, backups []Backup, scanned time.Time) {
	s.catalogs.writeIndex(ctx, database, backups, scanned)
}

func (s *Service) PlanBackup(ctx context.Context, req BackupRequest) (Catalog, Plan, error) {
	return s.catalogs.planBackup(ctx, req)
}

func (s *Service) SetClock(now func() time.Time) { s.now = now }
