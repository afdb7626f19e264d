package setmodel_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
)

// plan3to2 is the restore of a 3-shard set onto the two_replicas setmodel.
func plan3to2(t *testing.T, shard int) (setmodel.RestorePlan, map[int]setmodel.ShardResult) {
	t.Helper()
	s := set("s1", 1, setmodel.SetCompleted, 1, 2, 3)
	res := results(s)
	p, err := setmodel.PlanRestore(setmodel.RestoreInput{Set: s, Results: res, Shard: shard,
		Target: targetTopology(t, "two_replicas"), Database: "shop_restored", Tables: mixed})
	if err != nil {
		t.Fatal(err)
	}
	return p, res
}

// TestRestoreRecord: the record lists each step with the tables it
// restores and the rows a data step adds (not the replicated tables on a
// replica that gets them by replication); once every step is done nothing
// remains, so a second run adds nothing; a record begun with another
// mapping or for one shard is refused.
func TestRestoreRecord(t *testing.T) {
	p, res := plan3to2(t, 0)
	rec := setmodel.NewRestoreRecord(p, res, "req-1", "prod2", t0)
	if rec.Database != "shop" || rec.Target != "shop_restored" || len(rec.Steps) != len(p.Steps) {
		t.Fatalf("record %+v", rec)
	}
	byKey := map[string]setmodel.StepRecord{}
	for _, s := range rec.Steps {
		byKey[s.Key] = s
	}
	for key, want := range map[string]struct {
		tables []string
		adds   map[string]uint64
	}{
		"t1-r1-s3-data":   {[]string{"events", "orders"}, map[string]uint64{"events": 100, "orders": 10}},
		"t1-r2-s1-schema": {[]string{"events", "orders"}, nil},
		"t1-r2-s3-data":   {nil, map[string]uint64(nil)}, // only replicated tables hold rows: none restored here
	} {
		got := byKey[key]
		if got.State != setmodel.StepPending || !reflect.DeepEqual(got.Tables, want.tables) || !reflect.DeepEqual(got.Adds, want.adds) {
			t.Errorf("%s: %+v, want tables %v adds %v", key, got, want.tables, want.adds)
		}
	}
	if err := rec.Matches(p); err != nil {
		t.Errorf("the same restore: %v", err)
	}
	if len(rec.Remaining()) != len(rec.Steps) {
		t.Errorf("a new record: %d steps remain, want all %d", len(rec.Remaining()), len(rec.Steps))
	}
	for i := range rec.Steps {
		rec.Steps[i].State = setmodel.StepDone
	}
	if r := rec.Remaining(); len(r) != 0 {
		t.Errorf("every step done: %v remain", r)
	}
	one, _ := plan3to2(t, 3)
	if err := rec.Matches(one); err == nil || !strings.Contains(err.Error(), "begun by request req-1") {
		t.Errorf("shard 3 alone against a whole restore's record: %v", err)
	}
	s := set("s1", 1, setmodel.SetCompleted, 1, 2, 3)
	onto3, _ := setmodel.PlanRestore(setmodel.RestoreInput{Set: s, Results: res, Target: targetTopology(t, "three_shards"),
		Database: "shop_restored", Tables: mixed})
	if err := rec.Matches(onto3); err == nil {
		t.Error("the same set onto 3 shards against the record of 3 onto 2: no error")
	}
	for _, other := range []setmodel.RestorePlan{{Set: "s9", Database: p.Database, Map: p.Map, Steps: p.Steps},
		{Set: p.Set, Database: "shop_other", Map: p.Map, Steps: p.Steps}} {
		if err := rec.Matches(other); err == nil {
			t.Errorf("set %s into %s against the record of %s into %s: no error", other.Set, other.Database, rec.Set, rec.Target)
		}
	}
	otherReplica, _ := setmodel.PlanRestore(setmodel.RestoreInput{Set: s, Results: res, Target: targetTopology(t, "two_replicas"),
		Database: "shop_restored", Tables: mixed, DataReplicas: map[int]int{1: 2}})
	if err := rec.Matches(otherReplica); err == nil {
		t.Error("the same mapping with another data replica: no error")
	}
}

// TestResumeStep: a step run again is skipped when done; run whole when
// pending; when started, judged per table from its rows now against its
// rows before and the rows it adds: untouched tables again (creating no
// table anew), done ones not, and anything else a conflict.
func TestResumeStep(t *testing.T) {
	first := []setmodel.Setting{{Name: "create_table", Value: "'create'"}}
	later := []setmodel.Setting{{Name: "create_table", Value: "'if not exists'"}, {Name: "allow_non_empty_tables", Value: "1"}}
	data := func(state setmodel.StepState, settings []setmodel.Setting, before map[string]uint64) setmodel.StepRecord {
		return setmodel.StepRecord{Key: "t1-r1-s3-data", State: state, OperationID: "op-7", Settings: settings,
			Tables: []string{"empty", "events", "orders"}, Adds: map[string]uint64{"empty": 0, "events": 100, "orders": 10}, Before: before}
	}
	schema := setmodel.StepRecord{Key: "t1-r2-s1-schema", State: setmodel.StepStarted, Settings: first, Tables: []string{"events", "orders"}}
	had := map[string]uint64{"empty": 0, "events": 100, "orders": 10} // the first source's rows
	for _, tc := range []struct {
		name     string
		step     setmodel.StepRecord
		now      map[string]uint64
		skip     bool
		tables   []string
		settings []setmodel.Setting
		conflict string
	}{
		{"done", data(setmodel.StepDone, first, nil), nil, true, nil, nil, ""},
		{"pending", data(setmodel.StepPending, first, nil), nil, false, []string{"empty", "events", "orders"}, first, ""},
		{"started, nothing there", data(setmodel.StepStarted, first, nil), nil, false, []string{"empty", "events", "orders"},
			[]setmodel.Setting{{Name: "create_table", Value: "'if not exists'"}}, ""},
		{"started, created but empty", data(setmodel.StepStarted, first, nil), map[string]uint64{"empty": 0, "events": 0, "orders": 0},
			false, []string{"events", "orders"}, []setmodel.Setting{{Name: "create_table", Value: "'if not exists'"}}, ""},
		{"started, all there", data(setmodel.StepStarted, first, nil), map[string]uint64{"empty": 0, "events": 100, "orders": 10}, true, nil, nil, ""},
		{"started, part way", data(setmodel.StepStarted, first, nil), map[string]uint64{"empty": 0, "events": 100}, false, []string{"orders"},
			[]setmodel.Setting{{Name: "create_table", Value: "'if not exists'"}}, ""},
		{"second source, untouched", data(setmodel.StepStarted, later, had), had, false, []string{"events", "orders"}, later, ""},
		{"second source, done", data(setmodel.StepStarted, later, had), map[string]uint64{"empty": 0, "events": 200, "orders": 20}, true, nil, nil, ""},
		{"rows changed meanwhile", data(setmodel.StepStarted, later, had), map[string]uint64{"empty": 0, "events": 150, "orders": 20}, false, nil, nil,
			"events holds 150 rows, had 100 before the step, which adds 100"},
		{"a table dropped meanwhile", data(setmodel.StepStarted, later, had), map[string]uint64{"empty": 0, "events": 200}, false, nil, nil,
			"orders holds 0 rows, had 10 before"},
		{"schema, there", schema, map[string]uint64{"events": 0, "orders": 0}, true, nil, nil, ""},
		{"schema, part way", schema, map[string]uint64{"events": 0}, false, []string{"orders"},
			[]setmodel.Setting{{Name: "create_table", Value: "'if not exists'"}}, ""},
	} {
		got := setmodel.ResumeStep(tc.step, tc.now)
		if tc.conflict != "" {
			if !strings.Contains(got.Conflict, tc.conflict) || !strings.Contains(got.Conflict, tc.step.Key) || got.Skip {
				t.Errorf("%s: %+v, want conflict %q", tc.name, got, tc.conflict)
			}
			continue
		}
		if got.Conflict != "" || got.Skip != tc.skip || !reflect.DeepEqual(got.Tables, tc.tables) || !reflect.DeepEqual(got.Settings, tc.settings) {
			t.Errorf("%s: %+v, want skip %v tables %v settings %v", tc.name, got, tc.skip, tc.tables, tc.settings)
		}
	}
}
