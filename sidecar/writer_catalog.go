package sidecar

import (
	"context"
	"errors"
	"fmt"

	"github.com/clickvault/clickvault/sidecar/model"
)

// writerCatalog is what a lease holder starts from: with full, or when the
// index was last checked against every metadata object fullScanEvery ago,
// a full scan; otherwise the catalog through the index, as readers see it.
func (s *catalogs) writerCatalog(ctx context.Context, database string, full bool) (model.Catalog, error) {
	if !full {
		cat, err := s.Catalog(ctx, database)
		if err != nil || s.now().Sub(cat.Scanned) < model.FullScanEvery {
			return cat, err
		}
	}
	return s.scanCatalog(ctx, database)
}

// reconciledCatalog settles every backup a killed run left "running": it
// waits for one ClickHouse still writes, and marks the rest completed or
// failed. Only a lease holder calls it. A backup waited for holds one of
// turns (the zero Turns: none) as a backup sent now would: a BACKUP still
// in ClickHouse counts against what it runs at once.
func (s *catalogs) reconciledCatalog(ctx context.Context, database string, progress ProgressFunc, turns Turns, full bool) (model.Catalog, error) {
	cat, err := s.writerCatalog(ctx, database, full)
	if err != nil {
		return model.Catalog{}, err
	}
	settled := 0
	for _, b := range cat.All() {
		if b.Status != model.StatusCreating || b.Legacy {
			continue
		}
		s.logger.Warn("adopting a backup left running", "backup", b.Name, "operation", b.BackupID)
		if err := s.backups.adoptLeftover(ctx, b, progress, turns); err != nil {
			return model.Catalog{}, err
		}
		settled++
	}
	if settled > 0 {
		if cat, err = s.writerCatalog(ctx, database, full); err != nil {
			return model.Catalog{}, err
		}
	}
	return cat, nil
}

// planBackup plans the next backup from the reconciled catalog. An
// incremental's base is the one decision a wrong index entry could spoil,
// so its metadata is read again; if it disagrees with the catalog, every
// metadata object is read and the backup planned anew. Then the chain the
// incremental would extend is checked (soundChain): a broken one gets a
// full instead, which says why.
func (s *catalogs) planBackup(ctx context.Context, req BackupRequest) (model.Catalog, model.Plan, error) {
	cat, plan, err := s.planFrom(ctx, req, false)
	if err != nil || plan.Kind != model.KindIncremental {
		return cat, plan, err
	}
	why, err := s.baseDisagrees(ctx, plan.Base)
	if err != nil {
		return cat, plan, err
	}
	if why != "" {
		s.logger.Warn("the catalog index disagrees with a backup's metadata; reading every metadata object",
			"database", req.Database, "backup", plan.Base.Name, "why", why)
		if cat, plan, err = s.planFrom(ctx, req, true); err != nil || plan.Kind != model.KindIncremental {
			return cat, plan, err
		}
	}
	problem, err := s.soundChain(ctx, cat, plan.Base.Name)
	if err != nil || problem == "" {
		return cat, plan, err
	}
	s.logger.Warn("the chain the backup would extend is broken; no link is added to it",
		"database", req.Database, "chain", plan.Chain, "base", plan.Base.Name, "problem", problem)
	plan, err = plan.OnBrokenChain(req.Kind, problem)
	return cat, plan, err
}

func (s *catalogs) planFrom(ctx context.Context, req BackupRequest, fullScan bool) (model.Catalog, model.Plan, error) {
	cat, err := s.reconciledCatalog(ctx, string(req.Database), req.Progress, req.Turns, fullScan)
	if err != nil {
		return model.Catalog{}, model.Plan{}, err
	}
	plan, err := model.PlanBackup(cat, s.now(), model.PlanRules{FullEvery: s.opts.FullEvery,
		FullWhenIncrementalExceeds: s.opts.FullWhenIncrementalExceeds}, req.Kind, req.Tables)
	return cat, plan, err
}

// baseDisagrees reads b's metadata and says how it differs from b as the
// catalog has it ("" if it does not).
func (s *catalogs) baseDisagrees(ctx context.Context, b model.Backup) (string, error) {
	now, err := s.readBackup(ctx, b.Folder)
	switch {
	case errors.Is(err, ErrNotFound) || errors.Is(err, model.ErrBadMeta):
		return "its metadata is gone or unreadable", nil
	case err != nil:
		return "", fmt.Errorf("re-read the metadata of base %s: %w", b.Name, err)
	case now.Status != b.Status:
		return fmt.Sprintf("status %s, not %s", now.Status, b.Status), nil
	case now.BackupID != b.BackupID || now.Base != b.Base || (now.Chain != "" && now.Chain != b.Chain):
		// The catalog fills in a chain the seed's metadata does not state.
		return "its id, chain or base changed", nil
	}
	return "", nil
}
