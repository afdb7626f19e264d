package sidecar

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/model"
)

// ReadDefinitions reads the CREATE statement of every table of b from the
// backup itself: ClickHouse keeps each as metadata/<db>/<table>.sql, found
// through its manifest in b's folder or, for an incremental, in the base
// that holds it. Sorted by table.
func (s *restorer) ReadDefinitions(ctx context.Context, cat model.Catalog, b model.Backup) ([]model.TableDefinition, error) {
	return newChecker(s.engine, cat).definitions(ctx, b)
}

func (c *checker) definitions(ctx context.Context, b model.Backup) ([]model.TableDefinition, error) {
	m := c.manifest(ctx, b)
	if m.problem != "" {
		return nil, fmt.Errorf("read the table definitions of backup %s: %s", b.Name, m.problem)
	}
	var files []model.ManifestFile
	var defs []model.TableDefinition
	for _, f := range m.all {
		table, ok := model.DefinitionFile(f.Name, b.Database)
		if !ok {
			continue
		}
		if len(defs) == model.MaxPlanTables {
			return nil, fmt.Errorf("backup %s holds over %d tables; a restore plan reads at most %d", b.Name, model.MaxPlanTables, model.MaxPlanTables)
		}
		d := model.TableDefinition{Table: table}
		if f.Size > model.MaxDefinitionBytes {
			d.Unread = fmt.Sprintf("%d bytes, over the %d read", f.Size, model.MaxDefinitionBytes)
		}
		files, defs = append(files, f), append(defs, d)
	}
	if err := c.readDefinitionFiles(ctx, b, files, defs); err != nil {
		return nil, err
	}
	slices.SortFunc(defs, func(a, b model.TableDefinition) int { return strings.Compare(a.Table, b.Table) })
	return defs, nil
}

// undefined lists the tables of names that b holds neither rows of (the
// catalog) nor a definition of (its manifest's metadata/<db>/<table>.sql):
// a view has only the latter. The manifest is read only when needed.
func (s *restorer) undefined(ctx context.Context, cat model.Catalog, b model.Backup, names []string) ([]string, error) {
	var missing []string
	for _, n := range names {
		if _, ok := b.Tables[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	c := newChecker(s.engine, cat)
	m := c.manifest(ctx, b)
	if m.problem != "" {
		return nil, fmt.Errorf("read the table definitions of backup %s: %s", b.Name, m.problem)
	}
	defined := map[string]bool{}
	for _, f := range m.all {
		if table, ok := model.DefinitionFile(f.Name, b.Database); ok {
			defined[table] = true
		}
	}
	return slices.DeleteFunc(missing, func(n string) bool { return defined[n] }), nil
}

// readDefinitionFiles fills defs[i].Create from files[i], a few at a
// time, found down the chain as objectsOf finds them.
func (c *checker) readDefinitionFiles(ctx context.Context, b model.Backup, files []model.ManifestFile, defs []model.TableDefinition) error {
	objects, err := c.objectsOf(ctx, b, files)
	if err != nil {
		return fmt.Errorf("read the table definitions of backup %s: %w", b.Name, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(model.DefinitionReaders)
	for i, f := range files {
		if defs[i].Unread != "" {
			continue
		}
		g.Go(func() error {
			data, err := c.readObjects(gctx, objects[i])
			if err != nil {
				return fmt.Errorf("read %s of backup %s: %w", f.Name, b.Name, err)
			}
			defs[i].Create = string(data)
			return nil
		})
	}
	return g.Wait()
}

// Plan reads b's definitions and builds the plan of a restore of it.
// Renamed tables (another database, another table name, or a staging
// table of a replace) decide whether a literal ZooKeeper path matters.
func (s *restorer) Plan(ctx context.Context, cat model.Catalog, b model.Backup, req RestoreRequest) (model.RestorePlan, error) {
	defs, err := s.ReadDefinitions(ctx, cat, b)
	if err != nil {
		return model.RestorePlan{}, err
	}
	target := model.OrWord(req.Target, req.Database)
	renamed := func(table string) bool {
		if target != b.Database || req.Mode == model.ModeReplace {
			return true
		}
		for _, r := range req.Tables {
			if r.Source == table {
				return r.Target != r.Source
			}
		}
		return false
	}
	classified := model.ClassifyRestore(model.RenamingOf(b.Database, target, req.Tables), defs, renamed)
	p := model.BuildPlan(b.Database, target, req.Tables, req.Consumers, classified)
	p.Backup = b.Name
	if req.Mode == model.ModeReplace {
		p.RefuseLiveStaging()
	}
	return p, s.requireViewRights(ctx, &p)
}

// planRestore reads the plan of a restore of b.
func (s *restorer) planRestore(ctx context.Context, req RestoreRequest, b model.Backup) (model.RestorePlan, error) {
	cat, err := s.catalogs.Catalog(ctx, b.Database)
	if err != nil {
		return model.RestorePlan{Backup: b.Name, Database: b.Database, Target: req.Target}, err
	}
	return s.Plan(ctx, cat, b, req)
}
