package sidecar

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// copier copies completed backups, with their metadata, to copy targets.
type copier struct {
	*engine
	catalogs *catalogs
}

// CopyReport is what one round of copying a database to a target did.
type CopyReport struct {
	Target   string
	Database string
	Copied   []model.Backup // completed at the target in this round
	Already  int            // completed backups the target held before
	Unwanted int            // completed backups not copied: the target's own retention would delete them
	Pending  []model.Backup // completed backups still not copied (failed this round, or built on one that did)
	Sent     int            // objects sent
	Skipped  int            // objects already at the target with their size, not sent again
	Bytes    uint64         // bytes sent
	// NewestPending is when the newest thing not yet at the target was
	// made: a completed backup not copied (in Pending), or on a cluster
	// node a set sealed long ago and still not whole there
	// (cluster.SetCopyReport.NewestStale); zero when there is none. It is
	// the copy's lag.
	NewestPending time.Time
	// Newest is when the primary's newest completed backup was taken
	// (zero if the catalog could not be read): when the target cannot be
	// reached, what a round cannot tell of it.
	Newest time.Time
}

// Copy copies every completed backup of database the target does not hold
// yet, oldest first (a base before what is built on it). A backup's
// objects are sent unless the target has them with their size already
// (so a killed copy resumes where it was), its manifest is pointed at the
// copy of its base, and its metadata is written last, only once every
// object of the manifest is at the target with its size: a copy is
// completed only then. The backups read are pinned on the primary, and the
// target's folder of the database is leased (coord.PurposeCopy, waiting
// while another holds it), so one copier writes there at a time. A backup that fails is left pending, with
// everything built on it; err says why the first one failed.
func (s *copier) Copy(ctx context.Context, t CopyTarget, database string) (CopyReport, error) {
	rep := CopyReport{Target: t.Name, Database: database}
	if err := model.ValidateIdentifier("database", database); err != nil {
		return rep, err
	}
	pin, err := s.TakePin(ctx, database, PinCopy, "")
	if err != nil {
		return rep, err
	}
	defer pin.Release(ctx)
	cat, err := s.catalogs.Catalog(ctx, database)
	if err != nil {
		return rep, err
	}
	for _, b := range cat.All() {
		if b.Completed() {
			rep.Newest = maxTime(rep.Newest, b.Time())
		}
	}
	target := coord.New(t.Store, coord.Config{Layout: t.Layout, Holder: s.opts.Holder, LeaseTTL: s.opts.LeaseTTL,
		Now: func() time.Time { return s.now() }}, s.logger)
	// Waited for: a copier killed holding it leaves it until it expires,
	// and the next copy then goes on where that one stopped.
	err = target.WithLease(ctx, database, coord.PurposeCopy, true, func(ctx context.Context) error {
		return s.copyAll(ctx, t, target, cat, &rep)
	})
	for _, b := range rep.Pending {
		rep.NewestPending = maxTime(rep.NewestPending, b.Time())
	}
	return rep, err
}

// brokenCopies are the backups the target's last check (check --copy)
// found broken there: a round sends again what they lack. A target whose
// results cannot be read has none.
func brokenCopies(ctx context.Context, target *coord.Bucket, database string) map[string]bool {
	var f model.Results
	if err := target.ReadChecks(ctx, database, &f); err != nil {
		return nil
	}
	broken := map[string]bool{}
	for name, c := range f.Checks {
		if c.Verdict == model.CheckBroken {
			broken[name] = true
		}
	}
	return broken
}

// forgetBroken drops a mended copy's broken verdict from the target's
// check results; a failure leaves it, and the next round lists the copy
// again and sends nothing.
func forgetBroken(ctx context.Context, target *coord.Bucket, b model.Backup) {
	_ = coord.UpdateChecks(ctx, target, b.Database, func(f *model.Results) {
		f.Fill()
		delete(f.Checks, b.Name)
	})
}

// unwanted are the backups the target's own retention would delete:
// decided by t.Unwanted when set (a cluster's whole sets), else planned on
// the primary's catalog with t.Retention.
func (s *copier) unwanted(ctx context.Context, t CopyTarget, cat model.Catalog) (map[string]bool, error) {
	if t.Unwanted != nil {
		dropped, err := t.Unwanted(ctx, cat.Database)
		if err != nil {
			return nil, fmt.Errorf("plan the retention of copy target %s: %w", t.Name, err)
		}
		return dropped, nil
	}
	dropped := map[string]bool{}
	if t.Retention != nil {
		for _, d := range model.PlanCleanup(cat, *t.Retention, s.now()).Delete {
			dropped[d.Backup.Name] = true
		}
	}
	return dropped, nil
}

func (s *copier) copyAll(ctx context.Context, t CopyTarget, target *coord.Bucket, cat model.Catalog, rep *CopyReport) error {
	broken := brokenCopies(ctx, target, cat.Database)
	backups := slices.DeleteFunc(cat.All(), func(b model.Backup) bool { return !b.Completed() })
	dropped, err := s.unwanted(ctx, t, cat) // what the target's own cleanup would delete is not sent
	if err != nil {
		return err
	}
	backups = slices.DeleteFunc(backups, func(b model.Backup) bool {
		if dropped[b.Name] {
			rep.Unwanted++
		}
		return dropped[b.Name]
	})
	slices.Reverse(backups) // oldest first
	pending := map[string]bool{}
	var firstErr error
	for _, b := range backups {
		if b.Base != "" && pending[b.Base] {
			pending[b.Name] = true
			rep.Pending = append(rep.Pending, b)
			continue
		}
		copied, err := s.copyBackup(ctx, t, cat, b, rep, broken[b.Name])
		switch {
		case err != nil:
			pending[b.Name] = true
			rep.Pending = append(rep.Pending, b)
			if firstErr == nil {
				firstErr = fmt.Errorf("copy backup %s of %s to %s: %w", b.Name, b.Database, t.Name, err)
			}
			if ctx.Err() != nil {
				return firstErr
			}
		case copied:
			rep.Copied = append(rep.Copied, b)
			if broken[b.Name] { // mended: the check's verdict no longer holds
				forgetBroken(ctx, target, b)
			}
		default:
			rep.Already++
		}
	}
	return firstErr
}

// copyBackup copies b unless the target holds its metadata (copied =
// false), or, to mend a copy a check found broken, sends again what the
// target lacks of it. maxManifestRead bounds the manifest read, as for
// the catalog.
func (s *copier) copyBackup(ctx context.Context, t CopyTarget, cat model.Catalog, b model.Backup, rep *CopyReport, mend bool) (bool, error) {
	dst := t.Layout.Folder(b.Database, string(b.Kind), b.Name)
	if done, err := t.Store.Exists(ctx, coord.MetaKey(dst)); err != nil || (done && !mend) {
		return false, err
	}
	src, err := listSizes(ctx, s.store, b.Folder)
	if err != nil {
		return false, fmt.Errorf("list the backup: %w", err)
	}
	manifest, rebased, baseFolder, err := s.readManifest(ctx, t, cat, b, src)
	if err != nil {
		return false, err
	}
	have, err := listSizes(ctx, t.Store, dst)
	if err != nil {
		return false, fmt.Errorf("list the copy: %w", err)
	}
	objects := manifest.Objects(uint64(len(rebased)))
	if err := s.sendObjects(ctx, t, b.Folder, dst, objects[1:], src, have, rep); err != nil {
		return false, err
	}
	if size, ok := have[coord.BackupFileKey(dst)]; !ok || size != int64(len(rebased)) {
		if _, err := t.Store.Put(ctx, coord.BackupFileKey(dst), rebased, coord.PutCondition{}); err != nil {
			return false, fmt.Errorf("write the manifest: %w", err)
		}
	}
	if err := confirmCopy(ctx, t.Store, dst, objects); err != nil {
		return false, err
	}
	return true, s.writeCopiedMeta(ctx, t, b, dst, baseFolder, manifest, uint64(len(rebased)))
}

// readManifest reads b's manifest and, for an incremental, rebases it on
// the copy of its base (baseFolder, at the target).
func (s *copier) readManifest(ctx context.Context, t CopyTarget, cat model.Catalog, b model.Backup, src map[string]int64) (
	manifest model.Manifest, rebased []byte, baseFolder string, err error) {
	key := coord.BackupFileKey(b.Folder)
	size, ok := src[key]
	switch {
	case !ok:
		return manifest, nil, "", fmt.Errorf("the primary's object %s (ClickHouse's manifest) is missing", key)
	case size > maxManifestRead:
		return manifest, nil, "", fmt.Errorf("its manifest has %d bytes, over the %d a copy reads", size, maxManifestRead)
	}
	data, _, err := s.store.Get(ctx, key)
	if err != nil {
		return manifest, nil, "", fmt.Errorf("read the manifest: %w", err)
	}
	if manifest, err = model.ParseManifest(data); err != nil {
		return manifest, nil, "", err
	}
	if b.Base == "" {
		return manifest, data, "", nil
	}
	base, ok := cat.Find(b.Base)
	if !ok {
		return manifest, nil, "", fmt.Errorf("its base %s is gone", b.Base)
	}
	baseFolder = t.Layout.Folder(b.Database, string(base.Kind), base.Name)
	rebased, err = model.RebaseManifest(data, t.BaseRef(baseFolder))
	return manifest, rebased, baseFolder, err
}

// writeCopiedMeta writes the backup's metadata at the target, linked to
// the copy of its base: the last object of a copy.
func (s *copier) writeCopiedMeta(ctx context.Context, t CopyTarget, b model.Backup, dst, baseFolder string, m model.Manifest, manifestSize uint64) error {
	data, _, err := s.store.Get(ctx, coord.MetaKey(b.Folder))
	if err != nil {
		return fmt.Errorf("read the metadata: %w", err)
	}
	meta, err := model.DecodeMeta(data)
	if err != nil {
		return err
	}
	if meta, err = model.CopiedMeta(meta, baseFolder, m, manifestSize); err != nil {
		return err
	}
	if data, err = model.EncodeMeta(meta); err != nil {
		return err
	}
	s.fault("copy-before-meta")
	if _, err := t.Store.Put(ctx, coord.MetaKey(dst), data, coord.PutCondition{}); err != nil {
		return fmt.Errorf("write the metadata: %w", err)
	}
	return nil
}

// listSizes lists every object below folder, by key.
func listSizes(ctx context.Context, store coord.ObjectStore, folder string) (map[string]int64, error) {
	l, err := store.List(ctx, folder, true)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(l.Objects))
	for _, o := range l.Objects {
		out[o.Key] = o.Size
	}
	return out, nil
}

// confirmCopy lists the copy's folder: every object of the manifest
// (objects, keys relative to the folder) must be there with its size.
func confirmCopy(ctx context.Context, store coord.ObjectStore, dst string, objects []model.ObjectSize) error {
	have, err := listSizes(ctx, store, dst)
	if err != nil {
		return fmt.Errorf("list the copy to confirm it: %w", err)
	}
	var problems []error
	for _, o := range objects {
		key := coord.FileKey(dst, o.Key)
		if size, ok := have[key]; !ok || size < 0 || uint64(size) != o.Size {
			problems = append(problems, fmt.Errorf("object %s has %d bytes at the target (present: %v), the manifest says %d", key, size, ok, o.Size))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("the copy is not whole: %w", errors.Join(problems[0], fmt.Errorf("%d objects in all", len(problems))))
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
