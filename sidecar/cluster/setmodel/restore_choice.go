package setmodel

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"
)

// ErrNoSet means no set fits a restore's request: none completed at or
// before as_of, or the named set is not there or not sealed.
var ErrNoSet = errors.New("no set to restore")

// SetWanted is which set a restore asks for: a set by name, or the newest
// completed one at or before AsOf (zero = the newest), and one shard of it
// or all (Shard 0).
type SetWanted struct {
	Name  string
	AsOf  time.Time
	Shard int
}

// ChooseSet picks the set a restore reads. By name, any sealed set: a
// partial one only so, since whoever names it has seen which shards it
// lacks. Otherwise the newest completed set whose shards all started at
// or before AsOf (DataTime; a backup's time is its start too): a
// partial set is never picked then, because restoring it would silently
// lose the shards it lacks. An open set is never restored: its shards'
// backups may still be running. One shard alone is read from the set the
// whole restore would read: when that set lacks the shard (the cluster
// had no such shard then), the refusal names its shards rather than an
// older set's rows of that shard being restored as if they were as of
// then; a set named may be older.
func ChooseSet(sets []Set, w SetWanted) (Set, error) {
	if w.Name != "" {
		return namedSet(sets, w)
	}
	sorted := slices.Clone(sets)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].CreatedAt.After(sorted[j].CreatedAt) })
	var skipped []string
	when := ""
	if !w.AsOf.IsZero() {
		when = " at or before " + w.AsOf.UTC().Format(time.RFC3339)
	}
	for _, s := range sorted {
		if !w.AsOf.IsZero() && s.DataTime().After(w.AsOf) {
			continue
		}
		if s.State == SetCompleted && w.Shard != 0 && !s.Has(w.Shard) {
			return Set{}, fmt.Errorf("%w: set %s, the newest completed%s, has shards %v, not %d: name a set that has it",
				ErrNoSet, s.ID, when, s.Shards, w.Shard)
		}
		if s.State == SetCompleted {
			return s, nil
		}
		if s.State == SetPartial && len(skipped) < 3 {
			skipped = append(skipped, fmt.Sprintf("%s (partial: %s)", s.ID, reasonsText(s)))
		}
	}
	msg := "no completed set" + when
	if len(skipped) > 0 {
		msg += fmt.Sprintf("; passed over %v: a partial set is restored only when named", skipped)
	}
	return Set{}, fmt.Errorf("%w: %s", ErrNoSet, msg)
}

// namedSet finds set w.Name, refusing one not sealed, one created after
// AsOf (the two ask for different things), or one without w.Shard.
func namedSet(sets []Set, w SetWanted) (Set, error) {
	for _, s := range sets {
		if s.ID != w.Name {
			continue
		}
		switch {
		case s.State == SetDeleting:
			return Set{}, fmt.Errorf("%w: set %s is being deleted by a cleanup (retention): some of its backups may be gone", ErrNoSet, s.ID)
		case s.State != SetCompleted && s.State != SetPartial:
			return Set{}, fmt.Errorf("%w: set %s is %s, not sealed yet: its shards may still be backing up", ErrNoSet, s.ID, s.State)
		case !w.AsOf.IsZero() && s.CreatedAt.Truncate(time.Millisecond).After(w.AsOf):
			return Set{}, fmt.Errorf("%w: set %s was created at %s, after as_of %s", ErrNoSet, s.ID,
				s.CreatedAt.UTC().Format(time.RFC3339), w.AsOf.UTC().Format(time.RFC3339))
		case !w.AsOf.IsZero() && s.DataTime().After(w.AsOf):
			return Set{}, fmt.Errorf("%w: set %s has a shard whose backup started at %s, after as_of %s", ErrNoSet, s.ID,
				s.DataTime().UTC().Format(time.RFC3339), w.AsOf.UTC().Format(time.RFC3339))
		case w.Shard != 0 && !s.Has(w.Shard):
			return Set{}, fmt.Errorf("%w: set %s has shards %v, not %d", ErrNoSet, s.ID, s.Shards, w.Shard)
		}
		return s, nil
	}
	return Set{}, fmt.Errorf("%w: no set named %s", ErrNoSet, w.Name)
}

// reasonsText lists a partial set's reasons in shard order.
func reasonsText(s Set) string {
	keys := make([]string, 0, len(s.Reasons))
	for k := range s.Reasons {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := ""
	for i, k := range keys {
		if i > 0 {
			out += "; "
		}
		out += k + ": " + s.Reasons[k]
	}
	return out
}

// Placement is where source shards' backups go: each target shard and the
// source shards restored onto it, in order.
type Placement struct {
	Target  int
	Sources []int
}

// ShardMap maps a set's shards onto a target cluster's shards.
type ShardMap struct {
	Placements []Placement // one per target shard that gets data, in target order
	// Idle are the target shards that get no data, only the tables, empty:
	// the target has more shards than the set, or a named partial set has
	// no backup of the sources placed there.
	Idle  []int
	Notes []string // said to the requester: which sources share a target, which targets get no data and why
	// idleWhy says why each idle target gets no data (for Notes).
	idleWhy map[int]string
}

// MapShards maps source shards onto target shards by position: the i-th
// source shard (in number order) goes to the target shard at position i
// modulo the number of target shards. With as many shards, shard n goes
// to shard n's place; with fewer (3 → 2), the extra sources wrap round
// onto the first targets, spreading them as evenly as a count allows; with
// more (2 → 3), the last targets get no data and are named. Position, not
// size, decides, so a retried restore maps exactly as the first run did.
// With only != 0, just that source shard is placed, where the whole set's
// restore would put it.
func MapShards(sources, targets []int, only int) (ShardMap, error) {
	src, tgt := sortedUnique(sources), sortedUnique(targets)
	if len(src) == 0 || len(tgt) == 0 {
		return ShardMap{}, fmt.Errorf("map shards %v onto %v: both need a shard", sources, targets)
	}
	if only != 0 && !slices.Contains(src, only) {
		return ShardMap{}, fmt.Errorf("map shard %d: the set has shards %v", only, src)
	}
	byTarget := map[int][]int{}
	for i, s := range src {
		if only == 0 || s == only {
			t := tgt[i%len(tgt)]
			byTarget[t] = append(byTarget[t], s)
		}
	}
	m := ShardMap{idleWhy: map[int]string{}}
	for _, t := range tgt {
		ss := byTarget[t]
		switch {
		case len(ss) > 0:
			m.Placements = append(m.Placements, Placement{Target: t, Sources: ss})
		case only == 0:
			m.Idle = append(m.Idle, t)
			m.idleWhy[t] = fmt.Sprintf("the set has %d shards, the target %d", len(src), len(tgt))
		}
	}
	m.Notes = m.notes()
	return m, nil
}

// Without drops from the map the source shards that have no backup (a
// named partial set's): they keep their places, so every other shard goes
// where the whole set's restore puts it (on a cluster of the same shards,
// its own), and a target left with none gets the tables, empty.
func (m ShardMap) Without(missing []int) ShardMap {
	if len(missing) == 0 {
		return m
	}
	out := ShardMap{Idle: slices.Clone(m.Idle), idleWhy: maps.Clone(m.idleWhy)}
	if out.idleWhy == nil {
		out.idleWhy = map[int]string{}
	}
	for _, p := range m.Placements {
		kept := slices.DeleteFunc(slices.Clone(p.Sources), func(s int) bool { return slices.Contains(missing, s) })
		if len(kept) == 0 {
			out.Idle = append(out.Idle, p.Target)
			out.idleWhy[p.Target] = fmt.Sprintf("source shards %v have no backup in the set", p.Sources)
			continue
		}
		out.Placements = append(out.Placements, Placement{Target: p.Target, Sources: kept})
	}
	slices.Sort(out.Idle)
	out.Notes = out.notes()
	return out
}

// notes say, in target order, which targets hold several sources and
// which get no data, and why.
func (m ShardMap) notes() []string {
	byTarget := map[int]string{}
	for _, p := range m.Placements {
		if len(p.Sources) > 1 {
			byTarget[p.Target] = fmt.Sprintf("target shard %d holds source shards %v", p.Target, p.Sources)
		}
	}
	for _, t := range m.Idle {
		byTarget[t] = fmt.Sprintf("target shard %d gets no data, only the tables, empty: %s", t, m.idleWhy[t])
	}
	var out []string
	for _, t := range slices.Sorted(maps.Keys(byTarget)) {
		out = append(out, byTarget[t])
	}
	return out
}

func sortedUnique(xs []int) []int {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}
