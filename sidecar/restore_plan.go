package sidecar

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
	// disaster; a refreshable view is stopped right after the RESTORE.
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

// Plan actions.
const (
	PlanRestore = "restore"
	PlanStopped = "restore stopped" // a refreshable view, stopped right after the RESTORE
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
	zk      bool
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
		c := byName[r.Source]
		e := PlanEntry{Table: r.Source, Target: r.Target, Object: orWord(c.Object, "table"), Engine: c.Engine, Action: PlanRestore}
		for _, h := range c.Hazards {
			e.Reasons = append(e.Reasons, h.Reason)
			e.zk = e.zk || h.Code == HazardZooKeeper
		}
		if len(e.Reasons) > 0 {
			e.Action = flaggedAction(c, e.zk, consumers)
		}
		p.Tables = append(p.Tables, e)
	}
	p.skipDependents(database, byName)
	slices.SortFunc(p.Tables, func(a, b PlanEntry) int { return strings.Compare(a.Table, b.Table) })
	return p
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
// create them, or create them broken.
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

// Refusal is why the plan cannot run, or nil.
func (p RestorePlan) Refusal() error {
	var named []string
	zkOnly := true
	for _, e := range p.Tables {
		if e.Action == PlanRefuse {
			named = append(named, e.Table+" ("+strings.Join(e.Reasons, "; ")+")")
			zkOnly = zkOnly && e.zk
		}
	}
	if len(named) == 0 {
		return nil
	}
	hint := "say consumers = 'skip' to restore the rest without them, or consumers = 'include' to restore them live " +
		"(disaster recovery onto a fresh server)"
	if p.Consumers == ConsumersInclude || zkOnly {
		hint = "a replicated table with a literal ZooKeeper path is never restored under another name; " +
			"say consumers = 'skip' to leave it out, or restore it under its own name"
	}
	return fmt.Errorf("nothing was restored: %s: %s; %w", strings.Join(named, ", "), hint, ErrConsumers)
}

// Lines say the plan, one table a line, for the CLI and the HTTP answer.
func (p RestorePlan) Lines() []string {
	out := []string{fmt.Sprintf("plan: restore backup %s of %s into %s (consumers: %s)", p.Backup, p.Database, p.Target,
		orWord(string(p.Consumers), "refuse"))}
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

func orWord(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
