package sidecar

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// soundChain checks base and every backup it is built on, the way check
// does and reading no data: before an incremental is built on base
// (ClickHouse reads only the base's manifest when it writes an
// incremental, so a base whose objects are gone would get a new link that
// cannot be restored either), and before a restore reads it with copy
// targets to fall back on (chainProblem, which pins what it checks).
//
// Each link's folder is listed (one LIST per thousand objects, at most
// manifestReaders at once). A link whose metadata sums up its objects
// (model.ObjectSummary, recorded when it completed) is confirmed by its
// listing alone; any other, or one whose listing sums up differently, has
// its manifest read and every object confirmed as check does, which names
// what is wrong: what it keeps in its base is looked up in the base's
// manifest, and followed further down only into links not confirmed by
// their listing. It returns the first problem, "" for a sound chain.
func (s *catalogs) soundChain(ctx context.Context, cat model.Catalog, base string) (string, error) {
	start := s.now()
	links, err := model.CheckTargets(cat, base)
	if err != nil {
		return "", err
	}
	listings, err := s.listLinks(ctx, links)
	if err != nil {
		return "", err
	}
	c := newChainChecker(s, cat)
	problem, err := s.checkChain(ctx, c, links, listings)
	if err != nil {
		return "", fmt.Errorf("check the chain of %s: %w", base, err)
	}
	s.logger.Debug("chain checked", "base", base, "links", len(links),
		"by_manifest", len(links)-len(c.listed), "took", s.now().Sub(start).Round(time.Millisecond), "problem", problem)
	return problem, nil
}

// newChainChecker makes soundChain's checker; tests look at what it held.
var newChainChecker = func(s *catalogs, cat model.Catalog) *checker { return newChecker(s.engine, cat) }

// checkChain is soundChain's verdict on links, listed as listings, with c;
// an error only when ctx ended (a read cut short is no verdict).
func (s *catalogs) checkChain(ctx context.Context, c *checker, links []model.Backup, listings [][]coord.ObjectInfo) (string, error) {
	c.sizes, c.listed = map[string]int64{}, map[string]bool{}
	var exact []model.Backup
	for i, b := range links {
		for _, o := range listings[i] {
			c.sizes[o.Key] = o.Size
		}
		if b.Objects == nil || model.SummarizeObjects(folderObjects(b.Folder, listings[i])) != *b.Objects {
			exact = append(exact, b)
		} else {
			c.listed[b.Name] = true
		}
	}
	problem, cut := "", false
	c.checkLinks(ctx, exact, func(b model.Backup, p string) bool { // oldest first: a broken link breaks every link on it
		switch {
		case ctx.Err() != nil:
			cut = true // a read cut short is no verdict
		case p != "":
			problem = fmt.Sprintf("backup %s: %s", b.Name, p)
			s.recordBroken(ctx, c.cat, links, b, p)
		}
		return !cut && p == ""
	})
	if cut {
		return "", ctx.Err()
	}
	return problem, nil
}

// chainProblem checks the backup name of database and every backup it is
// built on as soundChain does, before a restore reads it: "" when every
// object is there with its size, else the first problem. Pinned, as check
// is: a backup a cleanup deleted under the check would read as broken.
func (s *checks) chainProblem(ctx context.Context, database, name string) (string, error) {
	pin, err := s.TakePin(ctx, database, PinCheck, "")
	if err != nil {
		return "", err
	}
	defer pin.Release(ctx)
	cat, err := s.catalogs.Catalog(ctx, database)
	if err != nil {
		return "", err
	}
	if _, err := model.CheckTargets(cat, name); err != nil {
		return "", err
	}
	pin.Narrow(ctx, name)
	return s.catalogs.soundChain(ctx, cat, name)
}

// listLinks lists the folder of each link, at most manifestReaders at once.
func (s *catalogs) listLinks(ctx context.Context, links []model.Backup) ([][]coord.ObjectInfo, error) {
	listings := make([][]coord.ObjectInfo, len(links))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(manifestReaders)
	for i, b := range links {
		g.Go(func() error {
			l, err := s.store.List(gctx, b.Folder, true)
			if err != nil {
				return fmt.Errorf("list backup %s: %w", b.Name, err)
			}
			listings[i] = l.Objects
			return nil
		})
	}
	return listings, g.Wait()
}

// recordBroken keeps the verdict in the check results, as check would:
// broken, naming the object, and every later link built on it, so the
// catalog (check_status, check_problem) shows it before the next check.
// A failure to record it is only logged: the backup goes on as a full, the
// restore reads a copy.
func (s *catalogs) recordBroken(ctx context.Context, cat model.Catalog, links []model.Backup, broken model.Backup, problem string) {
	now := s.now().UTC()
	err := coord.UpdateChecks(ctx, s.bucket, cat.Database, func(f *model.Results) {
		f.Fill()
		after := false
		for _, b := range links {
			switch {
			case b.Name == broken.Name:
				f.Checks[b.Name], after = model.BackupCheck{Verdict: model.CheckBroken, Problem: problem, CheckedAt: now}, true
			case after:
				f.Checks[b.Name] = model.BackupCheck{Verdict: model.CheckBroken, Problem: "built on broken backup " + broken.Name, CheckedAt: now}
			}
		}
		model.ForgetGone(cat, f.Checks)
		model.ForgetGone(cat, f.Verifies)
	})
	if err != nil {
		s.logger.Warn("record the broken chain in the check results", "database", cat.Database, "backup", broken.Name, "err", err)
	}
}

// folderObjects are the objects of a backup's folder as listed, but its
// metadata, keyed relative to the folder, as model.ObjectSummary counts them.
func folderObjects(folder string, listed []coord.ObjectInfo) []model.ObjectSize {
	out := make([]model.ObjectSize, 0, len(listed))
	for _, o := range listed {
		if o.Key == coord.MetaKey(folder) || !strings.HasPrefix(o.Key, folder) {
			continue
		}
		out = append(out, model.ObjectSize{Key: strings.TrimPrefix(o.Key, folder), Size: uint64(max(o.Size, 0))})
	}
	return out
}
