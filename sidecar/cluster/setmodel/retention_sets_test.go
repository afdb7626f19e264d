package setmodel_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
)

// history is a cluster's sets over seven hours, shards 1 and 2, shard 3
// joining at D (a shard's link is named after its set: shard 1 of A is A1):
//
//	A  full, completed          A1 A2
//	B  incremental, completed   B1←A1 B2←A2
//	C  full, partial            C1 (shard 2 failed: C2 is a failed backup)
//	D  incremental, completed   D1←C1 (shard 1's newest restorable link is the partial set's)
//	                            D2←B2, D3 a full (shard 3 is new)
//	E  full, completed          E1 E2 E3
//	F  incremental, completed   F1←E1 F2←E2 F3←E3
//	G  open                     no results yet
//
// Shard 1 also holds X1, a backup of a claim taken over, which no set names.
func history() setmodel.SetsState {
	mk := func(id string, hours int, kind string, state setmodel.SetState, shards ...int) setmodel.Set {
		s := set(id, hours, state, shards...)
		s.Kind = kind
		return s
	}
	ok := func(backup, base string) setmodel.ShardResult {
		return setmodel.ShardResult{State: setmodel.ShardSucceeded, Backup: backup, Base: base}
	}
	return setmodel.SetsState{
		Sets: []setmodel.Set{
			mk("G", 7, setmodel.KindIncremental, setmodel.SetOpen, 1, 2, 3), // not in time order: the plan sorts
			mk("D", 4, setmodel.KindIncremental, setmodel.SetCompleted, 1, 2, 3),
			mk("A", 1, setmodel.KindFull, setmodel.SetCompleted, 1, 2),
			mk("C", 3, setmodel.KindFull, setmodel.SetPartial, 1, 2),
			mk("B", 2, setmodel.KindIncremental, setmodel.SetCompleted, 1, 2),
			mk("E", 5, setmodel.KindFull, setmodel.SetCompleted, 1, 2, 3),
			mk("F", 6, setmodel.KindIncremental, setmodel.SetCompleted, 1, 2, 3),
		},
		Results: map[string]map[int]setmodel.ShardResult{
			"A": {1: ok("A1", ""), 2: ok("A2", "")},
			"B": {1: ok("B1", "A1"), 2: ok("B2", "A2")},
			"C": {1: ok("C1", ""), 2: {State: setmodel.ShardFailed, Backup: "C2", Error: "code: 243, NOT_ENOUGH_SPACE"}},
			"D": {1: ok("D1", "C1"), 2: ok("D2", "B2"), 3: ok("D3", "")},
			"E": {1: ok("E1", ""), 2: ok("E2", ""), 3: ok("E3", "")},
			"F": {1: ok("F1", "E1"), 2: ok("F2", "E2"), 3: ok("F3", "E3")},
		},
		Links: map[int][]setmodel.Link{
			1: {{"A1", ""}, {"B1", "A1"}, {"C1", ""}, {"D1", "C1"}, {"E1", ""}, {"F1", "E1"}, {"X1", "E1"}},
			2: {{"A2", ""}, {"B2", "A2"}, {"C2", "B2"}, {"D2", "B2"}, {"E2", ""}, {"F2", "E2"}},
			3: {{"D3", ""}, {"E3", ""}, {"F3", "E3"}},
		},
	}
}

// TestSetRetention: sets are kept and deleted whole, and a link is
// deleted only when no kept set rests on it: a partial set's link under a
// kept set stays, so does a base a kept and a deleted set share; a shard
// new to the cluster loses its full only with the last set resting on it;
// an open set is kept; links no set names are left alone.
func TestSetRetention(t *testing.T) {
	now := t0.Add(7*time.Hour + time.Minute)
	for _, tc := range []struct {
		name    string
		policy  setmodel.SetPolicy
		keep    []string
		delSets []string
		delLink map[int][]string
	}{
		{"the newest full set", setmodel.SetPolicy{KeepFullSets: 1}, []string{"E", "F", "G"}, []string{"A", "B", "C", "D"},
			map[int][]string{1: {"D1", "B1", "C1", "A1"}, 2: {"D2", "C2", "B2", "A2"}, 3: {"D3"}}},
		{"0 means 1", setmodel.SetPolicy{}, []string{"E", "F", "G"}, []string{"A", "B", "C", "D"},
			map[int][]string{1: {"D1", "B1", "C1", "A1"}, 2: {"D2", "C2", "B2", "A2"}, 3: {"D3"}}},
		{"D kept by age: it rests on C1, B2 and A2", setmodel.SetPolicy{KeepFullSets: 1, KeepFor: 3*time.Hour + 30*time.Minute},
			[]string{"D", "E", "F", "G"}, []string{"A", "B", "C"}, map[int][]string{1: {"B1", "A1"}, 2: {"C2"}}},
		{"D exactly keep_for old is not younger than it", setmodel.SetPolicy{KeepFullSets: 1, KeepFor: 3*time.Hour + time.Minute},
			[]string{"E", "F", "G"}, []string{"A", "B", "C", "D"},
			map[int][]string{1: {"D1", "B1", "C1", "A1"}, 2: {"D2", "C2", "B2", "A2"}, 3: {"D3"}}},
		{"two full sets: a partial one does not count", setmodel.SetPolicy{KeepFullSets: 2},
			[]string{"A", "B", "C", "D", "E", "F", "G"}, nil, map[int][]string{}},
		{"more full sets than there are", setmodel.SetPolicy{KeepFullSets: 3},
			[]string{"A", "B", "C", "D", "E", "F", "G"}, nil, map[int][]string{}},
	} {
		p := setmodel.PlanSetRetention(history(), tc.policy, now)
		var keep []string
		for _, id := range []string{"A", "B", "C", "D", "E", "F", "G"} {
			if p.Keep[id] != "" {
				keep = append(keep, id)
			}
		}
		if !reflect.DeepEqual(keep, tc.keep) || !reflect.DeepEqual(p.DeleteSets, tc.delSets) || !reflect.DeepEqual(p.DeleteLinks, tc.delLink) {
			t.Errorf("%s:\nkeep %v delete %v links %v\nwant %v delete %v links %v", tc.name, keep, p.DeleteSets, p.DeleteLinks,
				tc.keep, tc.delSets, tc.delLink)
		}
		if !reflect.DeepEqual(p.Outside, map[int][]string{1: {"X1"}}) || len(p.Problems) != 0 {
			t.Errorf("%s: outside %v problems %v, want X1 of shard 1 alone and no problem", tc.name, p.Outside, p.Problems)
		}
	}
}

// TestSetRetentionOpenSet: an open set is kept however old it is, and
// so are the links its shards have so far; a rejected shard's result has
// no backup and names no link.
func TestSetRetentionOpenSet(t *testing.T) {
	st := history()
	st.Sets[0].CreatedAt = t0.Add(150 * time.Minute) // G: open since before C
	st.Results["G"] = map[int]setmodel.ShardResult{1: {State: setmodel.ShardSucceeded, Backup: "G1", Base: "B1"},
		2: {State: setmodel.ShardRejected, Error: "alice lacks BACKUP ON shop.*"}}
	st.Links[1] = append(st.Links[1], setmodel.Link{Name: "G1", Base: "B1"})
	p := setmodel.PlanSetRetention(st, setmodel.SetPolicy{KeepFullSets: 1}, t0.Add(8*time.Hour))
	if p.Keep["G"] == "" || !reflect.DeepEqual(p.DeleteSets, []string{"A", "B", "C", "D"}) ||
		!reflect.DeepEqual(p.DeleteLinks[1], []string{"D1", "C1"}) {
		t.Errorf("keep %v, delete %v, links %v; want G kept with G1, B1 and A1", p.Keep, p.DeleteSets, p.DeleteLinks)
	}
}

// TestSetRetentionBrokenChain: a kept set whose backup or base is gone is
// reported, and the links it still finds are kept.
func TestSetRetentionBrokenChain(t *testing.T) {
	st := history()
	st.Links[2] = []setmodel.Link{{"A2", ""}, {"B2", "A2"}, {"D2", "B2"}, {"F2", "E2"}} // E2 gone
	st.Links[3] = []setmodel.Link{{"D3", ""}, {"E3", ""}, {"F3", "E3"}, {"L3", "L3"}}   // L3 names itself
	st.Results["F"][3] = setmodel.ShardResult{State: setmodel.ShardSucceeded, Backup: "L3"}
	p := setmodel.PlanSetRetention(st, setmodel.SetPolicy{KeepFullSets: 1}, t0.Add(8*time.Hour))
	want := []string{"set E, shard 2: its backup E2 is not in the shard's chains", "set F, shard 2: base E2 of F2 is not in the shard's chains",
		"set F, shard 3: the chain of L3 loops at L3"}
	for _, w := range want {
		if !strings.Contains(strings.Join(p.Problems, "\n"), w) {
			t.Errorf("problems %q, want %q", p.Problems, w)
		}
	}
	if len(p.Problems) != len(want) {
		t.Errorf("problems %q, want %d", p.Problems, len(want))
	}
	for _, l := range p.DeleteLinks[2] {
		if l == "F2" {
			t.Errorf("F2 of a kept set deleted: %v", p.DeleteLinks[2])
		}
	}
}

// TestSetBeingDeletedNamesWhatItsMarkRecorded: set S (an incremental I on
// B, a backup of set SB whose records went while S still needed B) was
// marked deleting with I and B to delete; I went, then the cleanup
// stopped. A walk from S's result (I) now reaches nothing, yet S still
// names B: the next cleanup deletes B, and B is never left as a link no
// set names.
func TestSetBeingDeletedNamesWhatItsMarkRecorded(t *testing.T) {
	s := set("S", 1, setmodel.SetDeleting, 1)
	// A folder that names no shard (a record written wrong) is passed
	// over, not the end of the folders after it.
	s.Kind, s.Deleting = setmodel.KindIncremental, map[string][]string{"shard-1": {"I", "B"}, "bogus": {"B"}}
	keep := set("K", 5, setmodel.SetCompleted, 1)
	keep.Kind = setmodel.KindFull
	st := setmodel.SetsState{
		Sets: []setmodel.Set{s, keep},
		Results: map[string]map[int]setmodel.ShardResult{
			"S": {1: {State: setmodel.ShardSucceeded, Backup: "I", Base: "B"}},
			"K": {1: {State: setmodel.ShardSucceeded, Backup: "K1"}},
		},
		Links: map[int][]setmodel.Link{1: {{"B", ""}, {"K1", ""}}},
	}
	plan := setmodel.PlanSetRetention(st, setmodel.SetPolicy{KeepFullSets: 1}, time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC))
	if !reflect.DeepEqual(plan.DeleteLinks, map[int][]string{1: {"B"}}) || len(plan.Outside[1]) != 0 ||
		!reflect.DeepEqual(plan.SetLinks["S"], map[int][]string{1: {"B"}}) {
		t.Errorf("delete %v, outside %v, S's links %v", plan.DeleteLinks, plan.Outside, plan.SetLinks["S"])
	}
}

// TestExactlyKeepFullSetsCompletedFulls: with exactly keep_full_sets
// completed full sets, a set older than the oldest of them is deleted (not
// kept as if there were fewer), and the plan says, per deleted set, the
// links its records wait for, whatever the order sets are listed in.
func TestExactlyKeepFullSetsCompletedFulls(t *testing.T) {
	mk := func(id string, hours int, kind string, state setmodel.SetState) setmodel.Set {
		s := set(id, hours, state, 1)
		s.Kind = kind
		return s
	}
	ok := func(backup string) map[int]setmodel.ShardResult {
		return map[int]setmodel.ShardResult{1: {State: setmodel.ShardSucceeded, Backup: backup}}
	}
	st := setmodel.SetsState{
		Sets: []setmodel.Set{mk("F2", 3, setmodel.KindFull, setmodel.SetCompleted), mk("P", 1, setmodel.KindFull, setmodel.SetPartial),
			mk("F1", 2, setmodel.KindFull, setmodel.SetCompleted)},
		Results: map[string]map[int]setmodel.ShardResult{"P": ok("P1"), "F1": ok("F11"), "F2": ok("F21")},
		Links:   map[int][]setmodel.Link{1: {{"P1", ""}, {"F11", ""}, {"F21", ""}}},
	}
	p := setmodel.PlanSetRetention(st, setmodel.SetPolicy{KeepFullSets: 2}, t0.Add(4*time.Hour))
	if !reflect.DeepEqual(p.DeleteSets, []string{"P"}) || !reflect.DeepEqual(p.SetLinks["P"], map[int][]string{1: {"P1"}}) {
		t.Errorf("delete %v, P's links %v; want P deleted with its link P1", p.DeleteSets, p.SetLinks["P"])
	}
}
