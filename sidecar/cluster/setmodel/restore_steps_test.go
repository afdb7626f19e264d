package setmodel_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/coord"
)

// results are a set's shard results: shard n's backup is "b{n}".
func results(s setmodel.Set) map[int]setmodel.ShardResult {
	out := map[int]setmodel.ShardResult{}
	for _, n := range s.Shards {
		if _, failed := s.Reasons[coord.ShardFolder(n)]; failed {
			out[n] = setmodel.ShardResult{Shard: n, State: setmodel.ShardFailed, Error: "code: 243, NOT_ENOUGH_SPACE"}
			continue
		}
		out[n] = setmodel.ShardResult{Shard: n, State: setmodel.ShardSucceeded, Backup: fmt.Sprintf("b%d", n),
			Folder: fmt.Sprintf("prod/shop/shard-%d/incremental/b%d", n, n), Tables: map[string]uint64{"events": 100, "orders": 10}}
	}
	return out
}

// targetTopology is a captured test bed cluster (real system.clusters
// rows): three_shards (3 shards of 1 replica) or two_replicas (shard 1 on
// two replicas, shard 2 on one).
func targetTopology(t *testing.T, name string) setmodel.Topology {
	t.Helper()
	topo, err := setmodel.NewTopology("vault", readCapture(t, name).Nodes[0].Rows)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// mixed are the backup's tables: two replicated, one MergeTree, one view;
// and a replicated table of another database, which is not restored.
var mixed = []setmodel.TableRow{
	{Database: "ops", Name: "audit", Engine: "ReplicatedMergeTree"},
	{Database: "shop", Name: "events", Engine: "ReplicatedMergeTree"},
	{Database: "shop", Name: "orders", Engine: "ReplicatedReplacingMergeTree"},
	{Database: "shop", Name: "scratch", Engine: "MergeTree"},
	{Database: "shop", Name: "recent", Engine: "View"},
}

// renderPlan writes a plan's steps as SQL, each under what it is.
func renderPlan(p setmodel.RestorePlan) string {
	var b strings.Builder
	for _, n := range p.Map.Notes {
		b.WriteString("-- note: " + n + "\n")
	}
	for _, s := range p.Steps {
		fmt.Fprintf(&b, "-- %s: target shard %d replica %d, source shard %d (%s)\n", s.Key, s.Target, s.Replica, s.Source, s.Backup)
		b.WriteString(s.SQL("shop", p.Database, fmt.Sprintf("S3('<%s>')", s.Folder)) + ";\n")
	}
	return b.String()
}

// TestPlanRestoreGolden: 3 shards onto 2 (target shard 1 on two replicas)
// and 2 shards onto 3, as SQL compared with testdata/golden.
func TestPlanRestoreGolden(t *testing.T) {
	three := set("s1", 1, setmodel.SetCompleted, 1, 2, 3)
	p, err := setmodel.PlanRestore(setmodel.RestoreInput{Set: three, Results: results(three),
		Target: targetTopology(t, "two_replicas"), Database: "shop_restored", Tables: mixed})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "restore_3_to_2.sql", renderPlan(p))
	two := set("s2", 2, setmodel.SetCompleted, 1, 2)
	p, err = setmodel.PlanRestore(setmodel.RestoreInput{Set: two, Results: results(two),
		Target: targetTopology(t, "three_shards"), Tables: mixed[3:]})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "restore_2_to_3.sql", renderPlan(p))
}

// TestPlanRestoreRules checks every plan's steps against the rules, on
// every shape: a replicated table's rows are restored once per target
// shard and a plain table's on every replica, once per source shard
// placed there; allow_non_empty_tables is set exactly on a data step after
// an earlier data step of the same replica; create_table = 'create' on a
// replica's first step only, and never in a restore of one shard alone
// (it repairs a database that is there); a schema step comes first on its
// replica; a target shard that gets no data gets the first source's
// tables, empty, on each replica (create_table = 'if not exists').
func TestPlanRestoreRules(t *testing.T) {
	three := set("s1", 1, setmodel.SetCompleted, 1, 2, 3)
	partial := set("s3", 3, setmodel.SetPartial, 1, 2, 3)
	for _, tc := range []struct {
		name   string
		in     setmodel.RestoreInput
		steps  int
		target string
	}{
		{"3 onto 2, mixed", setmodel.RestoreInput{Set: three, Results: results(three), Tables: mixed}, 6, "two_replicas"},
		{"3 onto 2, replica 2 restores the rows", setmodel.RestoreInput{Set: three, Results: results(three), Tables: mixed,
			DataReplicas: map[int]int{1: 2}}, 6, "two_replicas"},
		{"3 onto 2, plain tables", setmodel.RestoreInput{Set: three, Results: results(three), Tables: mixed[3:]}, 5, "two_replicas"},
		{"3 onto 3", setmodel.RestoreInput{Set: three, Results: results(three), Tables: mixed}, 3, "three_shards"},
		{"shard 3 alone onto 2", setmodel.RestoreInput{Set: three, Results: results(three), Tables: mixed, Shard: 3}, 3, "two_replicas"},
		{"named partial onto 3", setmodel.RestoreInput{Set: partial, Results: results(partial), Tables: mixed}, 3, "three_shards"},
	} {
		tc.in.Target = targetTopology(t, tc.target)
		p, err := setmodel.PlanRestore(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(p.Steps) != tc.steps {
			t.Errorf("%s: %d steps, want %d:\n%s", tc.name, len(p.Steps), tc.steps, renderPlan(p))
		}
		assertRules(t, tc.name, p, tc.in)
	}
}

// assertRules checks one plan against the rules TestPlanRestoreRules names.
func assertRules(t *testing.T, name string, p setmodel.RestorePlan, in setmodel.RestoreInput) {
	t.Helper()
	type key struct{ target, replica int }
	seen := map[key]int{}       // data steps so far per replica
	rows := map[string]int{}    // "target/table/source" → replicas restoring its rows
	for _, s := range p.Steps { // a step's settings follow from the steps before it on its replica
		k := key{s.Target, s.Replica}
		got := map[string]string{}
		for _, set := range s.Settings {
			got[set.Name] = set.Value
		}
		first := seen[k] == 0 && !hasSchema(p.Steps, k.target, k.replica)
		idle := slices.Contains(p.Map.Idle, s.Target) // gets the tables only, made where missing
		if idle && (s.Kind != setmodel.StepSchema || s.Source != p.Map.Placements[0].Sources[0]) {
			t.Errorf("%s: %s: target shard %d gets no data, yet this step is %s of source shard %d", name, s.Key, s.Target, s.Kind, s.Source)
		}
		if (got["create_table"] == "'create'") != (in.Shard == 0 && !idle && (first || s.Kind == setmodel.StepSchema)) {
			t.Errorf("%s: %s: create_table %s", name, s.Key, got["create_table"])
		}
		if (got["allow_non_empty_tables"] == "1") != (s.Kind == setmodel.StepData && seen[k] > 0) {
			t.Errorf("%s: %s: allow_non_empty_tables %q after %d data steps", name, s.Key, got["allow_non_empty_tables"], seen[k])
		}
		if (got["structure_only"] == "1") != (s.Kind == setmodel.StepSchema) || (s.Kind == setmodel.StepSchema && seen[k] > 0) {
			t.Errorf("%s: %s: structure_only %q, schema step after %d data steps", name, s.Key, got["structure_only"], seen[k])
		}
		if s.Kind != setmodel.StepData {
			continue
		}
		seen[k]++
		for _, tb := range in.Tables {
			if tb.Database == "shop" && !slices.Contains(s.Except, tb.Name) {
				rows[fmt.Sprintf("%d/%s/%d", s.Target, tb.Name, s.Source)]++
			}
		}
	}
	for _, idle := range p.Map.Idle {
		shard, _ := in.Target.Shard(idle)
		for _, r := range shard.Replicas {
			if !hasSchema(p.Steps, idle, r.Num) {
				t.Errorf("%s: target shard %d replica %d gets no data and no tables", name, idle, r.Num)
			}
		}
	}
	for _, pl := range p.Map.Placements {
		shard, _ := in.Target.Shard(pl.Target)
		for _, src := range pl.Sources {
			for _, tb := range in.Tables {
				if tb.Database != "shop" {
					continue
				}
				want := len(shard.Replicas)
				if strings.HasPrefix(tb.Engine, "Replicated") {
					want = 1
				}
				if got := rows[fmt.Sprintf("%d/%s/%d", pl.Target, tb.Name, src)]; got != want {
					t.Errorf("%s: target shard %d gets %s of source shard %d from %d replicas, want %d", name, pl.Target, tb.Name, src, got, want)
				}
			}
		}
	}
}

func hasSchema(steps []setmodel.RestoreStep, target, replica int) bool {
	for _, s := range steps {
		if s.Target == target && s.Replica == replica && s.Kind == setmodel.StepSchema {
			return true
		}
	}
	return false
}

// TestPlanRestoreShards: a named partial set restores the shards it has
// and says why the others are missing; one shard alone of them is refused
// when it has no backup; a data replica named for a shard runs its data
// steps, the others restore the definitions.
func TestPlanRestoreShards(t *testing.T) {
	partial := set("s3", 3, setmodel.SetPartial, 1, 2, 3)
	in := setmodel.RestoreInput{Set: partial, Results: results(partial), Target: targetTopology(t, "three_shards"), Tables: mixed}
	p, err := setmodel.PlanRestore(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Missing) != 1 || !strings.Contains(p.Missing[2], "NOT_ENOUGH_SPACE") {
		t.Errorf("missing %v, want shard 2 with its reason", p.Missing)
	}
	for _, s := range p.Steps {
		if s.Source == 2 {
			t.Errorf("step %s restores shard 2, which has no backup", s.Key)
		}
	}
	in.Shard = 3 // shard 2's reason is not this restore's business
	if p, err := setmodel.PlanRestore(in); err != nil || len(p.Missing) != 0 {
		t.Errorf("shard 3 alone of a partial set: missing %v, %v", p.Missing, err)
	}
	in.Shard = 2
	if _, err := setmodel.PlanRestore(in); !errors.Is(err, setmodel.ErrNoSet) || !strings.Contains(err.Error(), "shard 2 of set s3 has no backup") {
		t.Errorf("shard 2 alone: %v", err)
	}
	three := set("s1", 1, setmodel.SetCompleted, 1, 2, 3)
	p, err = setmodel.PlanRestore(setmodel.RestoreInput{Set: three, Results: results(three), Target: targetTopology(t, "two_replicas"),
		Tables: mixed, DataReplicas: map[int]int{1: 2}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Steps {
		if s.Target == 1 && (s.Replica == 2) != (len(s.Except) == 0 && s.Kind == setmodel.StepData) {
			t.Errorf("data replica 2 of target shard 1: step %s on replica %d except %v", s.Key, s.Replica, s.Except)
		}
	}
}

// TestPlanRestoreOfOneShardGolden: shard 3 alone of a set of 3 onto 2
// (target shard 1 on two replicas), as SQL: where the whole restore puts
// it, no table created anew.
func TestPlanRestoreOfOneShardGolden(t *testing.T) {
	three := set("s1", 1, setmodel.SetCompleted, 1, 2, 3)
	p, err := setmodel.PlanRestore(setmodel.RestoreInput{Set: three, Results: results(three), Shard: 3,
		Target: targetTopology(t, "two_replicas"), Database: "shop_restored", Tables: mixed})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "restore_shard_3_of_3_to_2.sql", renderPlan(p))
}

// TestPlanRestoreRefusesALostResult: a sealed set gives every shard without
// a backup a reason, so a shard with neither a result nor a reason lost its
// record (a copy missing an object): the restore is refused, naming it,
// rather than leave that shard empty. Another shard alone still restores.
func TestPlanRestoreRefusesALostResult(t *testing.T) {
	three := set("s1", 1, setmodel.SetCompleted, 1, 2, 3)
	lost := results(three)
	delete(lost, 2)
	in := setmodel.RestoreInput{Set: three, Results: lost, Target: targetTopology(t, "three_shards"), Tables: mixed}
	if _, err := setmodel.PlanRestore(in); !errors.Is(err, setmodel.ErrNoSet) || !strings.Contains(err.Error(), "shard 2's result (shard-2.json) is not in the bucket") {
		t.Errorf("a completed set lacking shard 2's result: %v", err)
	}
	in.Shard = 3
	if _, err := setmodel.PlanRestore(in); err != nil {
		t.Errorf("shard 3 alone of it: %v", err)
	}
}
