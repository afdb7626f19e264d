package setmodel

import (
	"fmt"
	"slices"
	"strings"
)

// Resume is what to do with one step of a restore run again.
type Resume struct {
	Skip bool // done: its rows are there
	// Tables, when Skip is false, are the tables to restore: all of the
	// step's, or, when it got part way, those it had not touched.
	Tables []string
	// Settings are the step's settings; a step run again creates no table
	// anew (create_table = 'if not exists'), since its first run may have.
	Settings []Setting
	// Conflict, when set, stops the restore: a table holds neither the
	// rows it had before the step nor those plus the step's, so running it
	// again could double rows and skipping it could lose them.
	Conflict string
}

// ResumeStep judges one step of a restore run again from the rows its
// tables hold now on the step's replica (now; a table absent is not
// there). A done step is skipped and a pending one runs. A started one —
// sent, then the sidecar or the server died, or the RESTORE failed part
// way — is judged per table: holding its rows from before, it is
// untouched and restored again; holding those plus the step's, it is done;
// anything else is a conflict for a person. Without this, the only safe
// answers to a lost RESTORE would be never to retry or to retry into
// doubled rows. It reasons from row counts, so a table that changed on its
// own since (inserts into the target meanwhile, a Replacing or Collapsing
// engine merging rows away) is a conflict, never a silent duplicate.
func ResumeStep(s StepRecord, now map[string]uint64) Resume {
	switch s.State {
	case StepDone:
		return Resume{Skip: true}
	case StepPending:
		return Resume{Tables: s.Tables, Settings: s.Settings}
	}
	var redo, conflicts []string
	for _, t := range s.Tables {
		rows, there := now[t]
		before, was := s.Before[t]
		switch {
		case len(s.Adds) == 0 && there: // a schema step: the definition is there
		case len(s.Adds) == 0:
			redo = append(redo, t)
		case there && rows == before+s.Adds[t]:
		case rows == before && (there || !was):
			redo = append(redo, t)
		default:
			conflicts = append(conflicts, fmt.Sprintf("%s holds %d rows, had %d before the step, which adds %d", t, rows, before, s.Adds[t]))
		}
	}
	if len(conflicts) > 0 {
		return Resume{Conflict: fmt.Sprintf("step %s (operation %s) ended unknown: %s", s.Key, s.OperationID, strings.Join(conflicts, "; "))}
	}
	if len(redo) == 0 {
		return Resume{Skip: true}
	}
	return Resume{Tables: redo, Settings: again(s.Settings)}
}

// again are a step's settings for a run after a started one: every
// table its first run created is there now.
func again(settings []Setting) []Setting {
	out := slices.Clone(settings)
	for i, s := range out {
		if s.Name == "create_table" {
			out[i].Value = "'if not exists'"
		}
	}
	return out
}
