package model

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Consumers is what a restore does with the tables that consume or write
// elsewhere (restore_plan_classify.go): refuse the restore (the default),
// leave them out, or restore them live.
type Consumers string

const (
	// ConsumersRefuse refuses a restore that would recreate any, naming them.
	ConsumersRefuse Consumers = ""
	// ConsumersSkip restores everything else (and leaves out what depends
	// on a table left out).
	ConsumersSkip Consumers = "skip"
	// ConsumersInclude restores them live, as on a fresh server after a
	// disaster; a refreshable view is created stopped (restore_views.go).
	ConsumersInclude Consumers = "include"
)

// ParseConsumers accepts "", "skip" and "include".
func ParseConsumers(s string) (Consumers, error) {
	switch c := Consumers(strings.TrimSpace(s)); c {
	case ConsumersRefuse, ConsumersSkip, ConsumersInclude:
		return c, nil
	}
	return "", fmt.Errorf("unknown consumers choice %q: want skip (leave them out) or include (restore them live)", s)
}

// ErrConsumers refuses a restore that would recreate, live, tables that
// consume or write outside the restored database.
var ErrConsumers = errors.New("the backup holds tables that consume or write outside the restored database")

// ErrSidecarRights refuses, before anything is created, a restore that
// would fail halfway for a right the sidecar's own user lacks (a view's
// definer: restore_plan_rights.go).
var ErrSidecarRights = errors.New("the sidecar's user lacks a right that recreating the backup's views takes")

// Plan actions.
const (
	PlanRestore = "restore"
	PlanStopped = "restore stopped" // a refreshable view, created EMPTY and stopped at once (restore_views.go)
	PlanSkip    = "skip"
	PlanRefuse  = "refuse"
)

// PlanEntry is one table of the plan: what is done with it and why.
type PlanEntry struct {
	Table   string   `json:"table"`  // in the backup
	Target  string   `json:"target"` // its name in the target database
	Object  string   `json:"object"` // table, view, materialized view, dictionary
	Engine  string   `json:"engine,omitempty"`
	Action  string   `json:"action"`
	Reasons []string `json:"reasons,omitempty"`
	Note    string   `json:"note,omitempty"` // what else to know, e.g. when a view restored stopped gets its rows back
	// WritesOutside and ReadsOutside are the tables outside the database
	// it writes into and reads; OperatorOnly says why only the operator
	// may restore it live. A requester's consumers = 'include' is judged
	// on them (control/include_rights.go).
	WritesOutside []QualifiedName `json:"writes_outside,omitempty"`
	ReadsOutside  []QualifiedName `json:"reads_outside,omitempty"`
	OperatorOnly  string          `json:"-"`
	zk            bool
	replace       bool       // refused because a replace's staging copy of it would run live (refuseLiveStaging)
	Rights        bool       // refused for a right the sidecar's user lacks
	Def           Definition // as the backup has it: definer, SQL SECURITY
	Create        string     // the backup's CREATE, for a view restored stopped
}

// RestorePlan is what a restore will do, read from the backup's own
// definitions before anything runs.
type RestorePlan struct {
	Backup    string      `json:"backup"`
	Database  string      `json:"database"`
	Target    string      `json:"target"`
	Consumers Consumers   `json:"consumers"`
	Tables    []PlanEntry `json:"tables"`
}

// BuildPlan decides each table's fate. restores names the tables of a
// partial restore (nil: the whole database); only those are in the plan.
func BuildPlan(database, target string, restores []TableRestore, consumers Consumers, classified []Classified) RestorePlan {
	p := RestorePlan{Database: database, Target: target, Consumers: consumers}
	byName := map[string]Classified{}
	for _, c := range classified {
		byName[c.Table] = c
	}
	if restores == nil {
		for _, c := range classified {
			restores = append(restores, TableRestore{Source: c.Table, Target: c.Table})
		}
	}
	for _, r := range restores {
		p.Tables = append(p.Tables, planEntry(r, byName[r.Source], consumers))
	}
	p.skipDependents(database, byName)
	p.noteRebuilt()
	slices.SortFunc(p.Tables, func(a, b PlanEntry) int { return strings.Compare(a.Table, b.Table) })
	return p
}

func planEntry(r TableRestore, c Classified, consumers Consumers) PlanEntry {
	e := PlanEntry{Table: r.Source, Target: r.Target, Object: OrWord(c.Object, "table"), Engine: c.Engine, Action: PlanRestore,
		WritesOutside: c.WritesOutside(), ReadsOutside: c.ReadsOutside(), OperatorOnly: c.operatorOnly(),
		Def: c.Definition, Create: c.Create}
	for _, h := range c.Hazards {
		e.Reasons = append(e.Reasons, h.Reason)
		e.zk = e.zk || h.Code == HazardZooKeeper
	}
	if len(e.Reasons) > 0 {
		e.Action = flaggedAction(c, e.zk, consumers)
	}
	if e.Action == PlanStopped && c.To.Name == "" {
		// Its rows are in its inner table, which a view created EMPTY does
		// not have: a refresh that replaces them brings them back, one that
		// appends cannot.
		if c.Append {
			e.Action = PlanRefuse
			e.Reasons = append(e.Reasons, "an APPEND refreshable view without a TO table: its rows are in its inner table, "+
				"which a view restored stopped (created EMPTY) would not have, so consumers = 'include' would lose them")
		} else {
			e.Note = "created EMPTY and stopped: its rows (in its inner table) come back at its first refresh, once started"
		}
	}
	return e
}

// RebuiltByRefresh are the tables of the database that a refreshable view
// replaces at each refresh (its TO table, without APPEND): ClickHouse
// backs up none of their rows, the view's next refresh rebuilds them.
func (p RestorePlan) RebuiltByRefresh() []string {
	var out []string
	for _, e := range p.Tables {
		if d := e.Def; d.Refreshable && !d.Append && d.To.Name != "" && inDatabase(d.To, p.Database) {
			out = append(out, d.To.Name)
		}
	}
	return out
}

// noteRebuilt says, on such a table and on its view when restored stopped,
// that the table comes back empty.
func (p *RestorePlan) noteRebuilt() {
	for i := range p.Tables {
		e := &p.Tables[i]
		d := e.Def
		if !d.Refreshable || d.Append || d.To.Name == "" || !inDatabase(d.To, p.Database) {
			continue
		}
		if e.Action == PlanStopped {
			e.Note = fmt.Sprintf("created EMPTY and stopped: the rows of %s come back at its first refresh, once started", d.To.Name)
		}
		for j := range p.Tables {
			if p.Tables[j].Table == d.To.Name {
				p.Tables[j].Note = fmt.Sprintf("restored empty: refreshable view %s replaces its rows at each refresh, "+
					"so ClickHouse's backup holds none", e.Table)
			}
		}
	}
}

func flaggedAction(c Classified, zk bool, consumers Consumers) string {
	switch {
	case consumers == ConsumersSkip:
		return PlanSkip
	case consumers == ConsumersInclude && !zk && c.Refreshable:
		return PlanStopped
	case consumers == ConsumersInclude && !zk:
		return PlanRestore
	}
	return PlanRefuse
}

// skipDependents leaves out what depends on a table left out: a view
// over it, a materialized view writing into it. RESTORE would fail to
// Create them, or create them broken.
func (p *RestorePlan) skipDependents(database string, byName map[string]Classified) {
	for changed := true; changed; {
		changed = false
		for i := range p.Tables {
			e := &p.Tables[i]
			if e.Action == PlanSkip || e.Action == PlanRefuse {
				continue
			}
			for _, ref := range byName[e.Table].References(database) {
				if p.action(ref) == PlanSkip {
					e.Action, changed = PlanSkip, true
					e.Reasons = append(e.Reasons, "depends on "+ref+", which is left out")
					break
				}
			}
		}
	}
}

func (p RestorePlan) action(table string) string {
	for _, e := range p.Tables {
		if e.Table == table {
			return e.Action
		}
	}
	return ""
}

// With lists the tables whose action is one of actions.
func (p RestorePlan) With(actions ...string) []string {
	var out []string
	for _, e := range p.Tables {
		if slices.Contains(actions, e.Action) {
			out = append(out, e.Table)
		}
	}
	return out
}

// Included are the tables restored live although flagged: what
// consumers = 'include' restores.
func (p RestorePlan) Included() []PlanEntry {
	var out []PlanEntry
	for _, e := range p.Tables {
		if (e.Action == PlanRestore || e.Action == PlanStopped) && len(e.Reasons) > 0 {
			out = append(out, e)
		}
	}
	return out
}

// Refusal is why the plan cannot run, or nil: tables refused as consumers
// (ErrConsumers), views the sidecar's user may not create
// (ErrSidecarRights), or both.
func (p RestorePlan) Refusal() error {
	var consumers, rights, replaced []string
	zkOnly := true
	for _, e := range p.Tables {
		switch {
		case e.Action != PlanRefuse:
		case e.replace:
			replaced = append(replaced, e.Table+" ("+strings.Join(e.Reasons, "; ")+")")
		case e.Rights:
			rights = append(rights, e.Table+" ("+strings.Join(e.Reasons, "; ")+")")
		default:
			consumers = append(consumers, e.Table+" ("+strings.Join(e.Reasons, "; ")+")")
			zkOnly = zkOnly && e.zk
		}
	}
	var consumerErr, rightsErr error
	switch {
	case len(replaced) > 0:
		// Named first: no consumers choice makes a replace of these safe.
		consumerErr = fmt.Errorf("%s: %s; %w", strings.Join(append(replaced, consumers...), ", "), replaceHint, ErrConsumers)
	case len(consumers) > 0:
		consumerErr = fmt.Errorf("%s: %s; %w", strings.Join(consumers, ", "), refusalHint(p.Consumers, zkOnly), ErrConsumers)
	}
	if len(rights) > 0 {
		rightsErr = fmt.Errorf("%s: %w", strings.Join(rights, ", "), ErrSidecarRights)
	}
	switch {
	case consumerErr != nil && rightsErr != nil:
		return fmt.Errorf("nothing was restored: %w; and %w", consumerErr, rightsErr)
	case consumerErr != nil:
		return fmt.Errorf("nothing was restored: %w", consumerErr)
	case rightsErr != nil:
		return fmt.Errorf("nothing was restored: %w", rightsErr)
	}
	return nil
}

// replaceHint says how to go on from a replace refused by refuseLiveStaging.
const replaceHint = "mode = 'replace' does not replace a materialized view or a table that consumes or writes outside: " +
	"restore it into another database (the default mode, data) and recreate it by hand, or leave it out of the tables named"

// RefuseLiveStaging refuses, in a replace, what its staging copy would
// run live. A replace restores each named table beside the live one, in
// the target database, and swaps it in: a materialized view's staging copy
// is fed by the same inserts and writes into the same table as the live
// view from the moment RESTORE creates it, so every row lands twice until
// the swap; a consumer's copy would consume, an outside writer's write.
// Nothing is staged without its view, so such a replace is refused whole.
func (p *RestorePlan) RefuseLiveStaging() {
	for i := range p.Tables {
		e := &p.Tables[i]
		live := strings.HasSuffix(e.Object, "view") && e.Object != "view" || len(e.Reasons) > 0
		if !live || e.Action == PlanSkip {
			continue
		}
		e.Action, e.replace = PlanRefuse, true
		e.Reasons = append(e.Reasons, "a replace would stage a live copy of it beside the original, "+
			"fed by the same inserts and writing where the original writes, until the swap")
	}
}

// refusalHint says how to go on from refused consumers.
func refusalHint(c Consumers, zkOnly bool) string {
	switch {
	case zkOnly:
		return "a replicated table with a literal ZooKeeper path is never restored under another name; " +
			"say consumers = 'skip' to leave it out, or restore it under its own name"
	case c == ConsumersInclude:
		return "say consumers = 'skip' to restore the rest without them"
	}
	return "say consumers = 'skip' to restore the rest without them, or consumers = 'include' to restore them live " +
		"(disaster recovery onto a fresh server)"
}

// Lines say the plan, one table a line, for the CLI and the HTTP answer.
func (p RestorePlan) Lines() []string {
	out := []string{fmt.Sprintf("plan: restore backup %s of %s into %s (consumers: %s)", p.Backup, p.Database, p.Target,
		OrWord(string(p.Consumers), "refuse"))}
	for _, e := range p.Tables {
		line := fmt.Sprintf("  %-15s %s %s", e.Action, e.Object, e.Table)
		if e.Target != e.Table {
			line += " as " + e.Target
		}
		if e.Engine != "" {
			line += " (" + e.Engine + ")"
		}
		if len(e.Reasons) > 0 {
			line += ": " + strings.Join(e.Reasons, "; ")
		}
		if e.Note != "" {
			line += " (" + e.Note + ")"
		}
		out = append(out, line)
	}
	return out
}

// Summary says the plan in one line, for a request's answer.
func (p RestorePlan) Summary() string {
	msg := fmt.Sprintf("%d restored", len(p.With(PlanRestore, PlanStopped)))
	for _, a := range []struct{ action, label string }{{PlanStopped, "restored stopped"}, {PlanSkip, "left out"}, {PlanRefuse, "refused"}} {
		if names := p.With(a.action); len(names) > 0 {
			msg += fmt.Sprintf("; %s: %s", a.label, strings.Join(names, ", "))
		}
	}
	return msg
}

func OrWord(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
