package sidecar

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
)

// VerifyResult compares a restored backup with what the backup holds.
type VerifyResult struct {
	Backup      Backup
	Scratch     string
	Tables      []TableCheck
	Mismatches  int
	RestoreTook time.Duration // the restore's own time: the measured recovery time
	// Skipped are the tables verify leaves out (restore_plan.go): consumers
	// and tables writing outside are never recreated live by a verify.
	Skipped []PlanEntry
}

// TableCheck is one table of a verify. For a table of the MergeTree family
// Expected is the physical rows of the backup's parts (their count.txt, as
// ClickHouse's manifest lists them: rows a lightweight delete hid count)
// and Restored the physical rows of the restored parts (system.parts):
// exact, whatever was inserted while the backup ran. A table without parts
// in the backup (another engine) is compared by count() with the rows
// recorded just before the backup. Logical is the restored count().
type TableCheck struct {
	Table              string
	Expected, Restored uint64
	Logical            uint64
	FromParts          bool   // compared part by part (exact)
	Missing            bool   // in the backup, not in the restore
	CheckTable         string // "" when CHECK TABLE passed (or the engine has none), else its answer
}

// Failed reports whether the table did not come back as the backup has it.
func (t TableCheck) Failed() bool {
	return t.Missing || t.Expected != t.Restored || t.CheckTable != ""
}

// ErrVerifyMismatch says a restored backup differs from the backup.
var ErrVerifyMismatch = errors.New("the restored tables differ from the backup")

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
func (s *verifier) Verify(ctx context.Context, database, name string, progress ProgressFunc) (VerifyResult, error) {
	if err := ValidateIdentifier("database", database); err != nil {
		return VerifyResult{}, err
	}
	pin, err := s.TakePin(ctx, database, PinVerify, "")
	if err != nil {
		return VerifyResult{}, err
	}
	defer pin.Release(ctx)
	cat, err := s.catalogs.Catalog(ctx, database)
	if err != nil {
		return VerifyResult{}, err
	}
	b, err := chooseIn(cat, database, name, time.Time{}, nil)
	if err != nil {
		return VerifyResult{}, err
	}
	pin.Narrow(ctx, b.Name)
	res, err := s.verify(ctx, cat, b, progress)
	s.checks.saveVerify(ctx, cat, res, err)
	return res, err
}

func (s *verifier) verify(ctx context.Context, cat Catalog, b Backup, progress ProgressFunc) (VerifyResult, error) {
	res := VerifyResult{Backup: b, Scratch: scratchName()}
	w := s.works.scratchWork(ctx, b, res.Scratch) // a kill leaves the scratch database to serve's sweep
	defer w.done(ctx)
	defer s.restorer.dropScratch(ctx, res.Scratch)
	expected, err := s.catalogs.partRows(ctx, cat, b)
	if err != nil {
		return res, err
	}
	plan, err := s.restorer.Plan(ctx, cat, b, RestoreRequest{Database: b.Database, Target: res.Scratch, Consumers: ConsumersSkip})
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
	skipped := plan.With(PlanSkip)
	for _, e := range plan.Tables {
		if e.Action == PlanSkip {
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
		return res, fmt.Errorf("verify %s: %d of %d tables: %w", b.Name, res.Mismatches, len(res.Tables), ErrVerifyMismatch)
	}
	return res, nil
}

// compareRestored reads the scratch database's part rows and counts and
// checks each table the backup holds.
func (s *verifier) compareRestored(ctx context.Context, b Backup, expected map[string]uint64, scratch string, skipped []string) ([]TableCheck, error) {
	parts, err := s.db.PartRows(ctx, scratch)
	if err != nil {
		return nil, fmt.Errorf("read restored parts in %s: %w", scratch, err)
	}
	logical, err := s.db.TableRows(ctx, scratch)
	if err != nil {
		return nil, fmt.Errorf("count rows in %s: %w", scratch, err)
	}
	var out []TableCheck
	for table, atBackup := range b.Tables {
		if slices.Contains(skipped, table) {
			continue
		}
		rows, inRestore := logical[table]
		c := TableCheck{Table: table, Logical: rows, Missing: !inRestore}
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
