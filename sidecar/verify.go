package sidecar

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/clickvault/clickvault/sidecar/model"
)

// verifier restores a backup into a scratch database and compares it with
// the backup's own parts.
type verifier struct {
	*engine
	catalogs *catalogs
	checks   *checks
	restorer *restorer
	works    *works
}

// Verify restores a backup into a scratch database, compares each table
// with the backup's own parts and runs CHECK TABLE on it, and drops the
// scratch database whatever happened. The backup is pinned meanwhile, so no
// cleanup deletes its chain under the restore. The outcome and the restore's
// duration are kept with the check results, for the catalog.
func (s *verifier) Verify(ctx context.Context, database, name string, progress ProgressFunc) (model.VerifyResult, error) {
	if err := model.ValidateIdentifier("database", database); err != nil {
		return model.VerifyResult{}, err
	}
	pin, err := s.TakePin(ctx, database, PinVerify, "")
	if err != nil {
		return model.VerifyResult{}, err
	}
	defer pin.Release(ctx)
	cat, err := s.catalogs.Catalog(ctx, database)
	if err != nil {
		return model.VerifyResult{}, err
	}
	b, err := model.ChooseIn(cat, database, name, time.Time{}, nil)
	if err != nil {
		return model.VerifyResult{}, err
	}
	pin.Narrow(ctx, b.Name)
	res, err := s.verify(ctx, cat, b, progress)
	s.checks.saveVerify(ctx, cat, res, err)
	return res, err
}

func (s *verifier) verify(ctx context.Context, cat model.Catalog, b model.Backup, progress ProgressFunc) (model.VerifyResult, error) {
	res := model.VerifyResult{Backup: b, Scratch: scratchName()}
	w := s.works.scratchWork(ctx, b, res.Scratch) // a kill leaves the scratch database to serve's sweep
	defer w.done(ctx)
	defer s.restorer.dropScratch(ctx, res.Scratch)
	expected, err := s.catalogs.partRows(ctx, cat, b)
	if err != nil {
		return res, err
	}
	plan, err := s.restorer.Plan(ctx, cat, b, RestoreRequest{Database: b.Database, Target: res.Scratch, Consumers: model.ConsumersSkip})
	if err == nil {
		err = plan.Refusal() // a view whose definer the sidecar may not set: refused before anything is created
	}
	if err != nil {
		return res, err
	}
	for _, t := range plan.RebuiltByRefresh() {
		if _, ok := expected[t]; !ok {
			expected[t] = 0 // its backup holds no parts, whatever it held then: compared with those
		}
	}
	skipped := plan.With(model.PlanSkip)
	for _, e := range plan.Tables {
		if e.Action == model.PlanSkip {
			res.Skipped = append(res.Skipped, e)
		}
	}
	start := s.now()
	cmd := RestoreCommand{ID: w.record().ID, Database: b.Database, Target: res.Scratch, Folder: b.Folder, Except: skipped}
	if _, err := s.restorer.startRestore(ctx, cmd, b, progress, nil); err != nil {
		return res, err
	}
	res.RestoreTook = s.now().Sub(start)
	if res.Tables, err = s.compareRestored(ctx, b, expected, res.Scratch, skipped); err != nil {
		return res, err
	}
	for _, t := range res.Tables {
		if t.Failed() {
			res.Mismatches++
		}
	}
	if res.Mismatches > 0 {
		return res, fmt.Errorf("verify %s: %d of %d tables: %w", b.Name, res.Mismatches, len(res.Tables), model.ErrVerifyMismatch)
	}
	return res, nil
}

// compareRestored reads the scratch database's part rows and counts and
// checks each table the backup holds.
func (s *verifier) compareRestored(ctx context.Context, b model.Backup, expected map[string]uint64, scratch string, skipped []string) ([]model.TableCheck, error) {
	parts, err := s.db.PartRows(ctx, scratch)
	if err != nil {
		return nil, fmt.Errorf("read restored parts in %s: %w", scratch, err)
	}
	logical, err := s.db.TableRows(ctx, scratch)
	if err != nil {
		return nil, fmt.Errorf("count rows in %s: %w", scratch, err)
	}
	var out []model.TableCheck
	for table, atBackup := range b.Tables {
		if slices.Contains(skipped, table) {
			continue
		}
		rows, inRestore := logical[table]
		c := model.TableCheck{Table: table, Logical: rows, Missing: !inRestore}
		if want, ok := expected[table]; ok {
			c.FromParts, c.Expected, c.Restored = true, want, parts[table]
		} else {
			c.Expected, c.Restored = atBackup, rows
		}
		if inRestore {
			if c.CheckTable, err = s.db.CheckTable(ctx, scratch, table); err != nil {
				return nil, fmt.Errorf("check table %s.%s: %w", scratch, table, err)
			}
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
	return out, nil
}

// scratchName is a new verify scratch database's name: the prefix every
// sidecar knows (and sweeps), and 48 random bits, so verifies never share
// one.
func scratchName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return model.ScratchPrefix + hex.EncodeToString(b)
}
