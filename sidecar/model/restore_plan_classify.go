package model

import (
	"fmt"
	"slices"
	"strings"
)

// A restored copy must not start working on production's behalf: a table
// that consumes a queue, a view that refreshes on its own, or anything
// that sends rows outside the restored database would act as soon as
// RESTORE creates it. The plan classifies every table of the backup from
// its CREATE statement before anything runs.

// Hazard codes: why a table is not recreated live unless asked.
const (
	HazardConsumer       = "consumer"        // Kafka, RabbitMQ, NATS, S3Queue, …: takes messages or files from production
	HazardRefreshable    = "refreshable"     // REFRESH EVERY/AFTER: runs on its own schedule
	HazardWritesOutside  = "writes_outside"  // sends rows to a table outside the restored database
	HazardReadsOutside   = "reads_outside"   // reads (or is fed by) a table outside the restored database
	HazardExternalWriter = "external_writer" // a URL/S3/File/… table a materialized view writes into
	HazardZooKeeper      = "zookeeper_path"  // a literal ZooKeeper path: under another name it joins the original's replicas
	HazardUnread         = "unread"          // the definition could not be read: not classified
)

// Hazard is one reason, in words people read.
type Hazard struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// TableDefinition is one table's CREATE statement read from a backup.
type TableDefinition struct {
	Table  string
	Create string
	Unread string // why the definition was not read (too big), else ""
}

// Classified is a table of the backup with what its definition says.
type Classified struct {
	Table  string
	Create string // the definition as the backup holds it
	Definition
	Hazards  []Hazard
	renaming Renaming // what its references point at once restored
}

// consumerEngines take messages or files from a source that production
// reads too: a second copy competes with it (same consumer group, same
// queue, same replication slot) or deletes what it processed.
var consumerEngines = map[string]bool{"kafka": true, "rabbitmq": true, "nats": true, "s3queue": true, "azurequeue": true,
	"filelog": true, "materializedpostgresql": true, "materializedmysql": true}

// externalEngines store their rows outside ClickHouse: a materialized view
// writing into one writes into production's bucket, server or files.
var externalEngines = map[string]bool{"url": true, "s3": true, "file": true, "azureblobstorage": true, "hdfs": true,
	"gcs": true, "oss": true, "cosn": true, "mysql": true, "postgresql": true, "mongodb": true, "sqlite": true,
	"redis": true, "odbc": true, "jdbc": true, "ytsaurus": true}

// ClassifyTables classifies the definitions of a backup of database as
// restored under its own name (ClassifyRestore with nothing renamed).
// renamed says whether a table is restored under another database or
// table name (a literal ZooKeeper path matters only then).
func ClassifyTables(database string, defs []TableDefinition, renamed func(table string) bool) []Classified {
	return ClassifyRestore(inPlace(database), defs, renamed)
}

// ClassifyRestore classifies the definitions of a backup of r.Database by
// what they will point at once restored as r says (restore_plan_rename.go).
func ClassifyRestore(r Renaming, defs []TableDefinition, renamed func(table string) bool) []Classified {
	out := make([]Classified, len(defs))
	for i, d := range defs {
		c := Classified{Table: d.Table, Create: d.Create, renaming: r}
		if d.Unread != "" {
			c.Hazards = []Hazard{{HazardUnread, "its definition was not read (" + d.Unread + "), so it cannot be classified"}}
		} else {
			c.Definition = ParseDefinition(d.Create)
			c.Hazards = ownHazards(r, c.Definition, renamed != nil && renamed(d.Table))
		}
		out[i] = c
	}
	for i := range out {
		if !externalEngines[strings.ToLower(out[i].Engine)] {
			continue
		}
		for _, w := range out {
			if w.Object == "materialized view" && inDatabase(w.To, r.Database) && w.To.Name == out[i].Table {
				out[i].Hazards = append(out[i].Hazards, Hazard{HazardExternalWriter, fmt.Sprintf(
					"a %s table, stored outside ClickHouse, that materialized view %s writes into", out[i].Engine, w.Table)})
			}
		}
	}
	return out
}

func inDatabase(q QualifiedName, database string) bool {
	return q.Database == "" || q.Database == database
}

// ownHazards are what one definition says on its own, its references
// judged by what they point at once restored as r says.
func ownHazards(r Renaming, d Definition, renamed bool) []Hazard {
	var h []Hazard
	add := func(code, format string, a ...any) { h = append(h, Hazard{code, fmt.Sprintf(format, a...)}) }
	engine := strings.ToLower(d.Engine)
	if consumerEngines[engine] {
		add(HazardConsumer, "a %s table consumes from outside: a live copy would take messages or files from production's consumer", d.Engine)
	}
	if d.Refreshable {
		add(HazardRefreshable, "a refreshable materialized view: it refreshes on its own schedule as soon as it exists")
	}
	if d.Object == "materialized view" && d.To.Name == "" && externalEngines[engine] {
		add(HazardExternalWriter, "a materialized view stored in a %s table, outside ClickHouse: a live copy sends every row it is fed there", d.Engine)
	}
	if d.To.Name != "" && r.outside(d.To) {
		add(HazardWritesOutside, "writes into %s, outside %s%s", r.after(d.To), r.Target, r.named(d.To))
	}
	h = append(h, readHazards(r, d)...)
	switch q, ok := unrenamedRef(r, d); {
	case ok && engine == "buffer":
		add(HazardWritesOutside, "a Buffer table that flushes into %s, outside %s%s", q, r.Target, unrenamedNote(r, q))
	case ok && engine == "distributed":
		add(HazardWritesOutside, "a Distributed table over %s of cluster %s, outside %s: it reads and writes that table on every shard%s",
			q, d.EngineArgs[0], r.Target, unrenamedNote(r, q))
	case ok:
		add(HazardWritesOutside, "an Alias of %s, outside %s: it reads and writes that table, TRUNCATE included%s", q, r.Target, unrenamedNote(r, q))
	case renamed && strings.HasPrefix(engine, "replicated") && strings.HasSuffix(engine, "mergetree") && len(d.EngineArgs) > 0 &&
		!strings.Contains(d.EngineArgs[0], "{uuid}") && !strings.Contains(d.EngineArgs[0], "{database}"):
		add(HazardZooKeeper, "ZooKeeper path %q has neither {uuid} nor {database}: restored under another name it would join the original's replicas",
			d.EngineArgs[0])
	}
	return h
}

// unrenamedRef is the table a Buffer, Distributed or Alias names when it is
// outside the target once restored: RESTORE leaves their arguments as
// written (ClickHouse's DDLRenamingVisitor renames only a Merge's database
// and a Dictionary's name among engine arguments).
func unrenamedRef(r Renaming, d Definition) (QualifiedName, bool) {
	var q QualifiedName
	switch e := strings.ToLower(d.Engine); {
	case e == "buffer" && len(d.EngineArgs) >= 2:
		q = engineRef(d.EngineArgs[0], d.EngineArgs[1])
	case e == "distributed" && len(d.EngineArgs) >= 3:
		q = engineRef(d.EngineArgs[1], d.EngineArgs[2])
	case e == "alias":
		var ok bool
		if q, ok = aliasRef(d.EngineArgs); !ok {
			return q, false
		}
	default:
		return q, false
	}
	q = r.kept(q)
	return q, q.Database != r.Target
}

func unrenamedNote(r Renaming, q QualifiedName) string {
	if q.Database == r.Database {
		return " (RESTORE does not rename its arguments: the copy acts on the original)"
	}
	return ""
}

// readHazards: a view or materialized view reading a table outside the
// target (a materialized view is then fed by production's inserts), or
// reading another server or store through a table function.
func readHazards(r Renaming, d Definition) []Hazard {
	if !strings.HasSuffix(d.Object, "view") {
		return nil
	}
	var h []Hazard
	var seen []string
	for _, ref := range d.Reads {
		q := r.after(ref)
		if !r.outside(ref) || slices.Contains(seen, q.String()) {
			continue
		}
		seen = append(seen, q.String())
		reason := fmt.Sprintf("reads %s, outside %s%s", q, r.Target, r.named(ref))
		if d.Object == "materialized view" && !d.Refreshable {
			reason = fmt.Sprintf("is fed by every insert into %s, outside %s%s", q, r.Target, r.named(ref))
		}
		h = append(h, Hazard{HazardReadsOutside, reason})
	}
	for _, fn := range d.ReadsRemote {
		if !slices.Contains(seen, fn+"()") {
			seen = append(seen, fn+"()")
			h = append(h, Hazard{HazardReadsOutside, fmt.Sprintf("reads through table function %s(), outside %s", fn, r.Target)})
		}
	}
	return h
}

// sameDatabaseArg reports whether an engine's database argument is the
// database itself (by name, or currentDatabase()).
func sameDatabaseArg(arg, database string) bool {
	return arg == database || strings.EqualFold(arg, "currentDatabase()") || arg == ""
}

// References are the tables of the same database a definition depends on:
// its TO table, the tables it reads, a Buffer's or Distributed's table
// there. A table left out takes these dependents with it.
func (c Classified) References(database string) []string {
	var out []string
	if c.To.Name != "" && inDatabase(c.To, database) {
		out = append(out, c.To.Name)
	}
	for _, r := range c.Reads {
		if inDatabase(r, database) {
			out = append(out, r.Name)
		}
	}
	switch e := strings.ToLower(c.Engine); {
	case e == "buffer" && len(c.EngineArgs) >= 2 && sameDatabaseArg(c.EngineArgs[0], database):
		out = append(out, c.EngineArgs[1])
	case e == "distributed" && len(c.EngineArgs) >= 3 && sameDatabaseArg(c.EngineArgs[1], database):
		out = append(out, c.EngineArgs[2])
	case e == "alias":
		if q, ok := aliasRef(c.EngineArgs); ok && sameDatabaseArg(q.Database, database) {
			out = append(out, q.Name)
		}
	}
	return out
}

// WritesOutside are the tables outside the target that it sends rows to
// once restored: a materialized view's TO table, a Distributed, Buffer or
// Alias table's table. Restored live by a requester, it writes there with
// the sidecar's rights.
func (c Classified) WritesOutside() []QualifiedName {
	r := c.renaming
	var out []QualifiedName
	if c.To.Name != "" && r.outside(c.To) {
		out = append(out, r.after(c.To))
	}
	if q, ok := unrenamedRef(r, c.Definition); ok {
		return append(out, q)
	}
	return out
}

// ReadsOutside are the tables outside the target that a view or
// materialized view reads (or is fed by), or an Alias reads, once
// restored.
func (c Classified) ReadsOutside() []QualifiedName {
	r := c.renaming
	if q, ok := unrenamedRef(r, c.Definition); ok && (strings.EqualFold(c.Engine, "alias") || strings.EqualFold(c.Engine, "distributed")) {
		return []QualifiedName{q}
	}
	if !strings.HasSuffix(c.Object, "view") {
		return nil
	}
	var out []QualifiedName
	for _, ref := range c.Reads {
		if q := r.after(ref); r.outside(ref) && !slices.Contains(out, q) {
			out = append(out, q)
		}
	}
	return out
}

// operatorOnly says why only the operator may restore it live, or "": it
// takes messages or files from production's sources, writes into a store
// outside ClickHouse, or reads one through a table function — with the
// sidecar's credentials, which no requester's grants can vouch for.
func (c Classified) operatorOnly() string {
	switch {
	case consumerEngines[strings.ToLower(c.Engine)]:
		return fmt.Sprintf("a %s table consumes from outside", c.Engine)
	case slices.ContainsFunc(c.Hazards, func(h Hazard) bool { return h.Code == HazardExternalWriter }):
		return fmt.Sprintf("a %s table is stored outside ClickHouse", c.Engine)
	case len(c.ReadsRemote) > 0:
		return fmt.Sprintf("it reads through table function %s()", c.ReadsRemote[0])
	}
	return ""
}
