package control

import (
	"errors"
	"fmt"
	"strings"

	"github.com/clickvault/clickvault/sidecar/model"
)

// planEntriesShown bounds the tables a request's answer lists: a backup
// may hold thousands, and request_log's message is read by people. The
// CLI's restore --dry-run lists every one.
const planEntriesShown = 50

// dryRunMessage is a restore dry run's answer: the plan read from the
// backup (what is restored, renamed, left out, refused, and why), and
// whether the restore as asked would be refused. Nothing ran.
func dryRunMessage(p model.RestorePlan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dry run, nothing was restored. Plan for backup %s of %s into %s (consumers: %s): %s. Tables: ",
		p.Backup, p.Database, p.Target, consumersWord(p.Consumers), p.Summary())
	for i, e := range p.Tables {
		if i == planEntriesShown {
			fmt.Fprintf(&b, "; and %d more (clickvault restore --dry-run lists every one)", len(p.Tables)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(planEntry(e))
	}
	b.WriteString(".")
	if err := p.Refusal(); err != nil {
		var hints []string
		if errors.Is(err, model.ErrConsumers) {
			hints = append(hints, refusalHint(p.Consumers))
		}
		if errors.Is(err, model.ErrSidecarRights) {
			hints = append(hints, "the sidecar's user lacks a right that creating a view refused above takes (its reason names it)")
		}
		b.WriteString(" As asked, the restore would be refused: " + strings.Join(hints, "; ") + ".")
	}
	return b.String()
}

// planNotes says what a restore that ran did differently from restoring
// every table live: the tables it left out and the refreshable views it
// restored stopped. "" when there are none.
func planNotes(p *model.RestorePlan) string {
	if p == nil {
		return ""
	}
	var notes []string
	if left := p.With(model.PlanSkip); len(left) > 0 {
		notes = append(notes, "left out (consumers = 'skip'): "+shortList(left))
	}
	if stopped := p.With(model.PlanStopped); len(stopped) > 0 {
		notes = append(notes, "refreshable views restored stopped, start them with SYSTEM START VIEW: "+shortList(stopped))
	}
	if len(notes) == 0 {
		return ""
	}
	return "; " + strings.Join(notes, "; ")
}

// planEntry is one table of the plan, as the CLI's plan says it.
func planEntry(e model.PlanEntry) string {
	s := e.Action + " " + e.Object + " " + e.Table
	if e.Target != e.Table {
		s += " as " + e.Target
	}
	if e.Engine != "" {
		s += " (" + e.Engine + ")"
	}
	if len(e.Reasons) > 0 {
		s += ": " + strings.Join(e.Reasons, ", ")
	}
	if e.Note != "" {
		s += " (" + e.Note + ")"
	}
	return s
}

// refusalHint says how to go on from a plan that refuses: with the default
// choice, skip or include; with include, only a replicated table with a
// literal ZooKeeper path is still refused.
func refusalHint(c model.Consumers) string {
	if c == model.ConsumersInclude {
		return "even with consumers = 'include', an APPEND refreshable view without a TO table (its rows would be lost) " +
			"and a replicated table with a literal ZooKeeper path under another name are refused; say consumers = 'skip' to leave them out"
	}
	return "say consumers = 'skip' to restore the rest without the tables refused, or consumers = 'include' to " +
		"restore them live (disaster recovery onto a fresh server; refreshable views are restored stopped)"
}

func consumersWord(c model.Consumers) string {
	if c == model.ConsumersRefuse {
		return "refuse, the default"
	}
	return string(c)
}

// shortList names at most planEntriesShown tables.
func shortList(names []string) string {
	if len(names) <= planEntriesShown {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:planEntriesShown], ", "), len(names)-planEntriesShown)
}
