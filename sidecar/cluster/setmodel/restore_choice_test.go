package setmodel_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
)

var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// set is a sealed set of shop created at t0 plus hours.
func set(id string, hours int, state setmodel.SetState, shards ...int) setmodel.Set {
	s := setmodel.Set{Version: setmodel.SetVersion, ID: id, Database: "shop", Cluster: "vault", ClusterID: "prod",
		Kind: setmodel.KindIncremental, Shards: shards, CreatedAt: t0.Add(time.Duration(hours) * time.Hour), State: state}
	if state == setmodel.SetPartial {
		s.Reasons = map[string]string{"shard-2": "failed on node2: code: 243, NOT_ENOUGH_SPACE"}
	}
	return s
}

// TestChooseSet: by as_of, the newest completed set at or before it, never
// a partial or open one; by name, any sealed set, a partial one too, but
// not an open one nor one after as_of; one shard is read from the set the
// whole restore would read, and refused, naming its shards, when that set
// lacks it.
func TestChooseSet(t *testing.T) {
	sets := []setmodel.Set{ // not in time order: the choice sorts
		set("s3", 3, setmodel.SetPartial, 1, 2, 3),
		set("s1", 1, setmodel.SetCompleted, 1, 2, 3),
		set("s4", 4, setmodel.SetOpen, 1, 2, 3),
		set("s2", 2, setmodel.SetCompleted, 1, 2, 3),
		set("s0", 0, setmodel.SetCompleted, 1, 2),
	}
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		w    setmodel.SetWanted
		want string // set id, or part of the error
	}{
		{"newest completed", setmodel.SetWanted{}, "s2"},
		{"as_of at a set's time", setmodel.SetWanted{AsOf: t0.Add(2 * time.Hour)}, "s2"},
		{"as_of just before it", setmodel.SetWanted{AsOf: t0.Add(2*time.Hour - ms)}, "s1"},
		{"as_of after a partial set", setmodel.SetWanted{AsOf: t0.Add(3*time.Hour + ms)}, "s2"},
		{"as_of before every set", setmodel.SetWanted{AsOf: t0.Add(-ms)}, "no completed set at or before 2026-11-30T23:59:59Z"},
		{"a shard the newest set as of lacks", setmodel.SetWanted{AsOf: t0.Add(30 * time.Minute), Shard: 3},
			"set s0, the newest completed at or before 2026-12-01T00:30:00Z, has shards [1 2], not 3"},
		{"a shard newer sets lack", setmodel.SetWanted{AsOf: t0.Add(90 * time.Minute), Shard: 3}, "s1"},
		{"a shard in no set", setmodel.SetWanted{Shard: 4}, "set s2, the newest completed, has shards [1 2 3], not 4"},
		{"a shard before every set", setmodel.SetWanted{AsOf: t0.Add(-ms), Shard: 1}, "no completed set at or before"},
		{"named partial", setmodel.SetWanted{Name: "s3"}, "s3"},
		{"named open", setmodel.SetWanted{Name: "s4"}, "set s4 is open, not sealed yet"},
		{"named after as_of", setmodel.SetWanted{Name: "s2", AsOf: t0.Add(time.Hour)}, "set s2 was created at 2026-12-01T02:00:00Z, after as_of"},
		{"named without the shard", setmodel.SetWanted{Name: "s0", Shard: 3}, "set s0 has shards [1 2], not 3"},
		{"named missing", setmodel.SetWanted{Name: "s9"}, "no set named s9"},
	} {
		got, err := setmodel.ChooseSet(sets, tc.w)
		isID := !strings.Contains(tc.want, " ")
		switch {
		case isID && (err != nil || got.ID != tc.want):
			t.Errorf("%s: chose %q, %v; want %s", tc.name, got.ID, err, tc.want)
		case !isID && (!errors.Is(err, setmodel.ErrNoSet) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %q, %v; want %q", tc.name, got.ID, err, tc.want)
		}
	}
	// Only a partial set in range: the refusal says why it was passed over.
	_, err := setmodel.ChooseSet(sets[:1], setmodel.SetWanted{})
	if err == nil || !strings.Contains(err.Error(), "s3 (partial: shard-2: failed on node2") ||
		!strings.Contains(err.Error(), "a partial set is restored only when named") {
		t.Errorf("only a partial set: %v", err)
	}
}

// TestAsOfJudgesASetByItsLastShardsStart: a shard can start its backup
// long after its set was created (its claim taken over by another replica
// after the holder died, a sidecar back from a restart), and holds the
// rows of then: as_of between the set's creation and that start would
// restore that shard from after as_of, under the set's earlier time.
func TestAsOfJudgesASetByItsLastShardsStart(t *testing.T) {
	late := set("late", 2, setmodel.SetCompleted, 1, 2)
	started := t0.Add(2*time.Hour + 25*time.Minute)
	late.LastShardStart = &started
	sets := []setmodel.Set{set("early", 1, setmodel.SetCompleted, 1, 2), late}
	between := t0.Add(2*time.Hour + 15*time.Minute)
	if got, err := setmodel.ChooseSet(sets, setmodel.SetWanted{AsOf: between}); err != nil || got.ID != "early" {
		t.Errorf("as_of after the set's creation, before its last shard's start: chose %q, %v; want the set before", got.ID, err)
	}
	if got, err := setmodel.ChooseSet(sets, setmodel.SetWanted{AsOf: started}); err != nil || got.ID != "late" {
		t.Errorf("as_of at its last shard's start: chose %q, %v; want it", got.ID, err)
	}
	_, err := setmodel.ChooseSet(sets, setmodel.SetWanted{Name: "late", AsOf: between})
	if !errors.Is(err, setmodel.ErrNoSet) || !strings.Contains(err.Error(), "a shard whose backup started at 2026-12-01T02:25:00Z, after as_of") {
		t.Errorf("named, as_of before its last shard's start: %v", err)
	}
}

// TestMapShards: shard n onto shard n with as many shards; with fewer
// targets the extra sources wrap onto the first ones and the note says
// which share a target; with more, the idle targets are named; one shard
// alone goes where the whole set's restore would put it.
func TestMapShards(t *testing.T) {
	for _, tc := range []struct {
		name             string
		sources, targets []int
		only             int
		want             []setmodel.Placement
		idle             []int
		note             string
	}{
		{"3 onto 3", []int{3, 1, 2}, []int{1, 2, 3}, 0, []setmodel.Placement{{1, []int{1}}, {2, []int{2}}, {3, []int{3}}}, nil, ""},
		{"3 onto 2", []int{1, 2, 3}, []int{1, 2}, 0, []setmodel.Placement{{1, []int{1, 3}}, {2, []int{2}}}, nil,
			"target shard 1 holds source shards [1 3]"},
		{"5 onto 2", []int{1, 2, 3, 4, 5}, []int{2, 1}, 0, []setmodel.Placement{{1, []int{1, 3, 5}}, {2, []int{2, 4}}}, nil,
			"target shard 2 holds source shards [2 4]"},
		{"2 onto 3", []int{1, 2}, []int{1, 2, 3}, 0, []setmodel.Placement{{1, []int{1}}, {2, []int{2}}}, []int{3},
			"target shard 3 gets no data, only the tables, empty: the set has 2 shards, the target 3"},
		{"shard 3 alone onto 2", []int{1, 2, 3}, []int{1, 2}, 3, []setmodel.Placement{{1, []int{3}}}, nil, ""},
		{"shard 2 alone onto 3", []int{1, 2}, []int{1, 2, 3}, 2, []setmodel.Placement{{2, []int{2}}}, nil, ""},
	} {
		m, err := setmodel.MapShards(tc.sources, tc.targets, tc.only)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !reflect.DeepEqual(m.Placements, tc.want) || !reflect.DeepEqual(m.Idle, tc.idle) {
			t.Errorf("%s: %+v idle %v, want %+v idle %v", tc.name, m.Placements, m.Idle, tc.want, tc.idle)
		}
		if tc.note != "" && !strings.Contains(strings.Join(m.Notes, "\n"), tc.note) {
			t.Errorf("%s: notes %q, want %q", tc.name, m.Notes, tc.note)
		}
		if tc.note == "" && len(m.Notes) > 0 {
			t.Errorf("%s: notes %q, want none", tc.name, m.Notes)
		}
	}
	for _, bad := range [][3][]int{{{1, 2}, {1}, {3}}, {{}, {1}, {0}}, {{1}, {}, {0}}} {
		if _, err := setmodel.MapShards(bad[0], bad[1], bad[2][0]); err == nil {
			t.Errorf("%v onto %v, only %d: no error", bad[0], bad[1], bad[2][0])
		}
	}
}

// TestTheTimeShownOfASetPicksIt: the sets table shows a set's times to the
// millisecond, and an as_of is stored so; a set whose times carry
// nanoseconds was passed over by the as_of of its own time as shown.
func TestTheTimeShownOfASetPicksIt(t *testing.T) {
	s := set("s", 1, setmodel.SetCompleted, 1)
	s.CreatedAt = s.CreatedAt.Add(123456789 * time.Nanosecond)
	started := s.CreatedAt.Add(time.Minute + 987654*time.Nanosecond)
	for name, last := range map[string]*time.Time{"created": nil, "last shard start": &started} {
		s.LastShardStart = last
		shown := s.CreatedAt
		if last != nil {
			shown = *last
		}
		shown = shown.Truncate(time.Millisecond)
		if got, err := setmodel.ChooseSet([]setmodel.Set{s}, setmodel.SetWanted{AsOf: shown}); err != nil || got.ID != "s" {
			t.Errorf("as_of the set's %s time as shown (%s): %v", name, shown.Format(time.RFC3339Nano), err)
		}
		if _, err := setmodel.ChooseSet([]setmodel.Set{s}, setmodel.SetWanted{Name: "s", AsOf: shown}); err != nil {
			t.Errorf("named, as_of its %s time as shown: %v", name, err)
		}
	}
}
