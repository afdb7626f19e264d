package model

import (
	"strings"
)

// Renaming is what a restored definition's references point at once
// ClickHouse has restored it. RESTORE … AS renames, inside the definitions
// it restores, the references to what it restores and nothing else: a
// whole database moves with every table, so a view of shop restored as
// shop_copy reads shop_copy's tables; a restore of named tables moves only
// those, so a view restored alone into another database still reads and
// writes the original's tables. The arguments of Alias and Buffer are
// never renamed (measured on 26.7): a copy's Alias or Buffer acts on the
// table the original named. The plan judges every reference by where it
// points after the restore, never by the backup's database.
type Renaming struct {
	Database string // the backup's database
	Target   string // the database restored into
	// Tables maps each table of a restore of named tables to its name in
	// Target; nil for a whole-database restore (verify's too).
	Tables map[string]string
}

// RenamingOf is the renaming of a restore of database into target:
// restores names the tables of a restore of named tables, nil the whole
// database.
func RenamingOf(database, target string, restores []TableRestore) Renaming {
	r := Renaming{Database: database, Target: OrWord(target, database)}
	if len(restores) > 0 {
		r.Tables = map[string]string{}
		for _, t := range restores {
			r.Tables[t.Source] = OrWord(t.Target, t.Source)
		}
	}
	return r
}

// inPlace is the renaming of a whole-database restore under the
// database's own name: nothing moves.
func inPlace(database string) Renaming { return Renaming{Database: database, Target: database} }

// after is where q points once restored, q as the definition names it in
// a query, a TO clause or a Distributed table (which RESTORE renames).
// An unqualified name resolves in the object's own database, the target.
func (r Renaming) after(q QualifiedName) QualifiedName {
	switch {
	case q.Database == "":
		return QualifiedName{Database: r.Target, Name: q.Name}
	case q.Database != r.Database:
		return q
	case r.Tables == nil:
		return QualifiedName{Database: r.Target, Name: q.Name}
	}
	if name, ok := r.Tables[q.Name]; ok {
		return QualifiedName{Database: r.Target, Name: name}
	}
	return q
}

// outside reports whether q points outside the target once restored.
func (r Renaming) outside(q QualifiedName) bool { return r.after(q).Database != r.Target }

// named says, for a reason, why a reference into the backup's own
// database stays outside: only the tables named move.
func (r Renaming) named(q QualifiedName) string {
	if r.Tables != nil && q.Database == r.Database && r.Target != r.Database {
		return " (a restore of named tables moves only those into " + r.Target + ")"
	}
	return ""
}

// engineRef is the table an engine argument pair names; a database
// argument that is empty or currentDatabase() is the object's own.
func engineRef(db, table string) QualifiedName {
	if strings.EqualFold(db, "currentDatabase()") {
		db = ""
	}
	return QualifiedName{Database: db, Name: table}
}

// kept is where an engine argument that RESTORE leaves as written
// (Alias, Buffer, Distributed) points once restored: where it pointed before.
func (r Renaming) kept(q QualifiedName) QualifiedName {
	if q.Database == "" {
		return QualifiedName{Database: r.Target, Name: q.Name}
	}
	return q
}

// aliasRef is the table an Alias engine names: Alias(db, table),
// Alias(table) or Alias('db.table').
func aliasRef(args []string) (QualifiedName, bool) {
	switch {
	case len(args) >= 2:
		return engineRef(args[0], args[1]), true
	case len(args) == 1:
		if db, table, ok := strings.Cut(args[0], "."); ok {
			return engineRef(db, table), true
		}
		return QualifiedName{Name: args[0]}, true
	}
	return QualifiedName{}, false
}
