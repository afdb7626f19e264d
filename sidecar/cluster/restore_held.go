package cluster

import (
	"context"
	"slices"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
)

// held are the tables of a restore of one shard alone that hold rows on
// this node, with their rows: such a restore repairs a shard whose tables
// are gone or empty, so it restores those and leaves every table holding
// rows as it is. Rows already there are the shard's own or another
// source's (an earlier restore, rows written since), and adding the
// backup's to them would double or mix them; ClickHouse refuses a
// non-empty table too, but only once its RESTORE reaches it, after others
// may have been written. Only a data step not sent yet is judged: a step
// sent before is judged by its rows (ResumeStep), and a whole set's
// restore writes only into new or empty databases (prepare).
func (n nodeSteps) held(ctx context.Context, rec setmodel.RestoreRecord, s setmodel.StepRecord) (map[string]uint64, error) {
	if rec.Shard == 0 || s.Kind != setmodel.StepData || s.State != setmodel.StepPending {
		return nil, nil
	}
	rows, err := n.c.opts.Restorer.TableRows(ctx, rec.Target)
	if err != nil {
		return nil, err
	}
	held := map[string]uint64{}
	for _, t := range s.Tables {
		if rows[t] > 0 {
			held[t] = rows[t]
		}
	}
	return held, nil
}

// leaveAll records a step whose every table held rows: nothing of it is
// sent, and it is done, naming what it left.
func (n nodeSteps) leaveAll(ctx context.Context, key string, s setmodel.StepRecord, held map[string]uint64) (setmodel.StepState, string) {
	_, err := n.c.updateRestore(ctx, key, func(r *setmodel.RestoreRecord) bool {
		t := r.Step(s.Key)
		if t == nil {
			return false
		}
		leave(t, held)
		return true
	})
	if err != nil {
		return setmodel.StepFailed, err.Error()
	}
	return setmodel.StepDone, ""
}

// leave takes the held tables out of a step's record: they are named in
// Held with the rows they held, and no run restores them.
func leave(t *setmodel.StepRecord, held map[string]uint64) {
	if len(held) == 0 {
		return
	}
	t.Held = held
	t.Tables = slices.DeleteFunc(t.Tables, func(name string) bool { return heldTable(held, name) })
	for name := range held {
		delete(t.Adds, name)
	}
}

func heldTable(held map[string]uint64, table string) bool {
	_, ok := held[table]
	return ok
}
