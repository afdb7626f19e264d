package sidecar

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar/model"
)

// A replace never leaves the user without the table. Each live table it
// replaces is restored beside it, into a staging table of the same database
// (stagingName), whose rows are checked against the backup's parts as
// verify checks them; only then is it swapped in with EXCHANGE TABLES (one
// atomic rename of both) and the old table, now under the staging name,
// dropped. With partitions, the staging table holds only those partitions
// and each replaces the live one with REPLACE PARTITION … FROM (atomic per
// partition); the other partitions are not touched. Until the swap the
// original is intact; a failure drops the staging table, and a kill leaves
// a work record (restore_work.go) from which an adoption finishes the swap
// or the sweep removes the staging table.

// stagingName is the staging table of the i-th table of operation id: the
// sidecar's prefix, the operation and, for people, the start of the name.
func stagingName(id string, i int, table string) string {
	short := table
	for len(short) > 40 {
		_, size := model.LastRune(short)
		short = short[:len(short)-size]
	}
	return fmt.Sprintf("%s%s_%d_%s", stagingPrefix, strings.ReplaceAll(id, "-", "")[:8], i, short)
}

// replacer replaces live tables from staging ones (restored beside them,
// compared with the backup's parts, swapped in atomically) or replaces
// partitions in place, and undoes what a failed replace did.
type replacer struct {
	*engine
	catalogs *catalogs
	works    *works
}

// requireExchange refuses a database whose engine cannot EXCHANGE TABLES,
// before anything is done.
func (s *replacer) requireExchange(ctx context.Context, database string) error {
	engine, err := s.ops.DatabaseEngine(ctx, database)
	if err != nil {
		return fmt.Errorf("read the engine of %s: %w", database, err)
	}
	if !slices.Contains(model.ExchangeEngines, engine) {
		return fmt.Errorf("database %s has engine %s, which cannot swap tables (EXCHANGE TABLES); mode replace restores "+
			"beside a table and swaps it in, so it is refused here: restore under another name (\"table AS new_name\") instead: %w",
			database, engine, model.ErrCannotExchange)
	}
	return nil
}

// compareStaging compares each staging table with the backup's parts: the
// physical rows of its parts (the backup's count.txt), or for a table
// without parts the rows recorded at backup time. For partitions it also
// requires every partition named to be in the backup.
func (s *replacer) compareStaging(ctx context.Context, b model.Backup, rec workRecord) error {
	cat, err := s.catalogs.Catalog(ctx, b.Database)
	if err != nil {
		return err
	}
	if len(rec.Partitions) > 0 {
		return s.compareStagingPartitions(ctx, cat, b, rec)
	}
	expected, err := s.catalogs.partRows(ctx, cat, b)
	if err != nil {
		return fmt.Errorf("read the backup's rows to check the restored copy: %w", err)
	}
	parts, err := s.db.PartRows(ctx, rec.Target)
	if err != nil {
		return fmt.Errorf("read the restored parts in %s: %w", rec.Target, err)
	}
	logical, err := s.db.TableRows(ctx, rec.Target)
	if err != nil {
		return fmt.Errorf("count rows in %s: %w", rec.Target, err)
	}
	for _, sw := range rec.Swaps {
		want, fromParts := expected[sw.Source]
		got := parts[sw.Staging]
		if !fromParts {
			if want, fromParts = b.Tables[sw.Source]; !fromParts {
				continue // a view or an engine without rows: nothing to count
			}
			got = logical[sw.Staging]
		}
		if got != want {
			return fmt.Errorf("the restored copy of %s has %d rows, the backup %d: %w", sw.Source, got, want, model.ErrVerifyMismatch)
		}
	}
	return nil
}

// compareStagingPartitions: the staging table holds only the partitions
// named (RESTORE … PARTITIONS); one named that the backup does not hold is
// refused, since replacing with nothing would delete the live partition.
func (s *replacer) compareStagingPartitions(ctx context.Context, cat model.Catalog, b model.Backup, rec workRecord) error {
	sw := rec.Swaps[0]
	staged, err := s.ops.TablePartitions(ctx, rec.Target, sw.Staging)
	if err != nil {
		return err
	}
	named := map[string]bool{}
	for _, p := range rec.Partitions {
		named[p] = true
	}
	if len(staged) != len(named) {
		var held []string
		for _, p := range staged {
			held = append(held, p.Value)
		}
		return fmt.Errorf("backup %s holds %d of the %d partitions named of table %s (it holds %s of them); "+
			"a partition it does not hold is never replaced with nothing: name only partitions the backup has, "+
			"as system.parts shows them in partition", b.Name, len(staged), len(named), sw.Source, model.OrNoneOf(held))
	}
	expected, err := s.catalogs.partitionRows(ctx, cat, b, sw.Source)
	if err != nil {
		return fmt.Errorf("read the backup's rows to check the restored partitions: %w", err)
	}
	for _, p := range staged {
		if p.Rows != expected[p.ID] {
			return fmt.Errorf("the restored partition %s of %s has %d rows, the backup %d: %w",
				p.Value, sw.Source, p.Rows, expected[p.ID], model.ErrVerifyMismatch)
		}
	}
	return nil
}

// markCompared records each staging table's UUID once it is compared, and
// the live table's: from then on a live table with the staging UUID has
// been swapped (how an adoption after a kill tells a done swap from one
// to do), and a staging name with the live UUID holds the original, which
// an undo never drops.
func (s *replacer) markCompared(ctx context.Context, w *work) error {
	rec := w.record()
	objects, err := s.ops.Objects(ctx, rec.Target)
	if err != nil {
		return fmt.Errorf("read the staging tables' uuids: %w", err)
	}
	for _, sw := range rec.Swaps {
		if _, ok := objects.Tables[sw.Staging]; !ok {
			return fmt.Errorf("read the staging table's uuid: table %s.%s: %w", rec.Target, sw.Staging, ErrNotFound)
		}
	}
	return w.update(ctx, func(r *workRecord) {
		for i, sw := range r.Swaps {
			r.Swaps[i].StagingUUID = objects.Tables[sw.Staging].UUID
			r.Swaps[i].LiveUUID = objects.Tables[sw.Live].UUID
		}
	})
}

// swapIn puts the checked staging tables in place: EXCHANGE TABLES for
// whole tables (one that fails swaps the ones before back), REPLACE
// PARTITION for partitions. Swaps an earlier run made (the live table has
// the staging table's UUID) are not made again.
func (s *replacer) swapIn(ctx context.Context, rec workRecord) error {
	if len(rec.Partitions) > 0 {
		return s.replacePartitions(ctx, rec)
	}
	objects, err := s.ops.Objects(ctx, rec.Target)
	if err != nil {
		return fmt.Errorf("read the live tables' uuids: %w", err)
	}
	var done []swap
	for _, sw := range rec.Swaps {
		if live, ok := objects.Tables[sw.Live]; ok && live.UUID == sw.StagingUUID {
			continue
		}
		if err := s.ops.ExchangeTables(ctx, rec.Target, sw.Live, sw.Staging); err != nil {
			back := s.swapBack(ctx, rec.Target, done)
			return errors.Join(fmt.Errorf("swap %s.%s in: %w", rec.Target, sw.Live, err), back)
		}
		done = append(done, sw)
		s.fault("replace-exchanged")
	}
	return nil
}

// swapBack undoes the swaps made. One that fails leaves the original under
// the staging name, which the undo keeps and names (restore_undo.go).
func (s *replacer) swapBack(ctx context.Context, database string, done []swap) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var errs []error
	for _, sw := range done {
		if err := s.ops.ExchangeTables(ctx, database, sw.Live, sw.Staging); err != nil {
			errs = append(errs, fmt.Errorf("swap %s.%s back: %w", database, sw.Live, err))
		}
	}
	return errors.Join(errs...)
}

// replacePartitions replaces each staged partition of the live table. A
// REPLACE PARTITION copies the staging table's parts (hard links) and is
// atomic per partition; doing it again gives the same table, so an
// adoption after a kill simply does all of them again.
func (s *replacer) replacePartitions(ctx context.Context, rec workRecord) error {
	sw := rec.Swaps[0]
	staged, err := s.ops.TablePartitions(ctx, rec.Target, sw.Staging)
	if err != nil {
		return err
	}
	for i, p := range staged {
		if err := s.ops.ReplacePartition(ctx, rec.Target, sw.Live, p.ID, sw.Staging); err != nil {
			msg := "no partition was replaced"
			if i > 0 {
				msg = fmt.Sprintf("partitions %s were replaced already", model.OrNoneOf(model.PartitionValues(staged[:i])))
			}
			return fmt.Errorf("replace partition %s of %s.%s (%s; %s): %w", p.Value, rec.Target, sw.Live, msg,
				s.dropOwnStaging(ctx, rec.Target, sw), err)
		}
	}
	return nil
}

// dropOwnStaging drops a partition replace's staging table after a REPLACE
// PARTITION failed: it holds a copy of the backup's partitions, no one
// else's rows, and is dropped only while it has the UUID this restore
// recorded. It says what became of it.
func (s *replacer) dropOwnStaging(ctx context.Context, database string, sw swap) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	objects, err := s.ops.Objects(ctx, database)
	staging, exists := objects.Tables[sw.Staging]
	switch {
	case err == nil && !exists:
		return "no staging table is left"
	case err == nil && !sw.holdsCopy(staging.UUID):
		return fmt.Sprintf("%s.%s is not this restore's staging table any more and is left", database, sw.Staging)
	case err == nil:
		err = s.db.DropTable(ctx, database, sw.Staging)
	}
	if err != nil {
		return fmt.Sprintf("the staging table %s.%s is left, drop it by hand (%v)", database, sw.Staging, err)
	}
	return fmt.Sprintf("the staging table %s.%s is dropped", database, sw.Staging)
}

// partitionIDs resolves a partition replace's partitions, named as
// system.parts shows them (partition), to their ids in the live table: a
// RESTORE … PARTITIONS takes a value as a literal of the key's type, which
// a key of several columns ((m, k) shows as (202601,'eu')) does not take as
// one string, while an id names any key's partition. A partition the live
// table does not have is sent as written (values), which suits a key of
// one column.
func (s *replacer) partitionIDs(ctx context.Context, rec workRecord, named []string) (values, ids []string, err error) {
	if len(rec.Partitions) == 0 || len(rec.Swaps) == 0 {
		return named, nil, nil
	}
	live, err := s.ops.TablePartitions(ctx, rec.Target, rec.Swaps[0].Live)
	if err != nil {
		return nil, nil, err
	}
	return model.ResolvePartitions(rec.Partitions, live)
}
