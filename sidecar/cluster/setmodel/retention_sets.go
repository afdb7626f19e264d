package setmodel

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// SetPolicy says which sets to keep. Sets are kept and deleted whole.
type SetPolicy struct {
	// KeepFullSets keeps the newest completed full sets this many (at
	// least 1) and every set created after the oldest of them: the
	// incremental sets built on them.
	KeepFullSets int
	KeepFor      time.Duration // also keep every set younger than this (0 = off)
}

// Link is one backup in a shard's chains: its name and the backup it is
// built on ("" for a full).
type Link struct {
	Name string
	Base string
}

// SetsState is what set retention reads: the sets, their shards' results
// and every shard's links (the shard's catalog).
type SetsState struct {
	Sets    []Set
	Results map[string]map[int]ShardResult // set id → shard → result
	Links   map[int][]Link                 // shard → its backups
	// Busy are sets kept whatever the policy, with why: those being
	// restored.
	Busy map[string]string
	// Leftovers are set folders without a set.json (a cleanup stopped
	// part way): deleted with the sets.
	Leftovers []string
	// Unreadable says of each shard result this sidecar cannot read (a
	// newer sidecar's version) why: its set is planned without it, so the
	// backup it names is no set's, and kept.
	Unreadable []string
}

// SetRetentionPlan is what a cleanup of sets deletes and keeps.
type SetRetentionPlan struct {
	Keep map[string]string // set id → why it is kept
	// DeleteSets are oldest first: each is marked deleting, then its
	// links go, then its records.
	DeleteSets []string
	// SetLinks are, per deleted set and shard, the links of DeleteLinks it
	// names: its records go only once they are gone.
	SetLinks map[string]map[int][]string
	// DeleteLinks are, per shard, the links only deleted sets need, each
	// before the links it is built on (so nothing left points at a
	// deleted base).
	DeleteLinks map[int][]string
	// Outside are, per shard, links no set names or rests on (a backup
	// taken twice when a claim was taken over, one taken outside sets):
	// left to the shard's own cleanup, never deleted here.
	Outside  map[int][]string
	Problems []string // a kept set whose chain is broken: reported, nothing of it deleted
}

// PlanSetRetention keeps and deletes whole sets by policy, and deletes a
// shard's link only when no kept set needs it. The links a set needs are
// each of its shard results' backup and every base under it, walked in
// the shard's own links: a set's shard may rest on a link another set
// made (an incremental on the shard's newest restorable link, which may
// belong to a partial set; a shard new to the cluster took a full in an
// incremental set), so a deleted set's link that a kept set rests on is
// kept. Open sets are always kept: their backups may be running; so are
// busy ones (being restored). Until
// KeepFullSets completed full sets exist, every set is kept.
func PlanSetRetention(st SetsState, p SetPolicy, now time.Time) SetRetentionPlan {
	plan := SetRetentionPlan{Keep: keptSets(st.Sets, p, now), DeleteLinks: map[int][]string{}, Outside: map[int][]string{}}
	for _, s := range st.Sets {
		if why, busy := st.Busy[s.ID]; busy {
			plan.Keep[s.ID] = why
		}
	}
	needed, named := map[int]map[string]bool{}, map[int]map[string]bool{}
	sorted := slices.Clone(st.Sets)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].CreatedAt.Before(sorted[j].CreatedAt) })
	for _, s := range sorted {
		_, kept := plan.Keep[s.ID]
		if !kept {
			plan.DeleteSets = append(plan.DeleteSets, s.ID)
		}
		chains, problems := setChains(st, s)
		if kept {
			plan.Problems = append(plan.Problems, problems...)
		}
		for n, chain := range chains {
			for _, name := range chain {
				mark(named, n, name)
				if kept {
					mark(needed, n, name)
				}
			}
		}
	}
	plan.SetLinks = setLinks(st, plan.DeleteSets, needed)
	for n, links := range st.Links {
		var del []string
		for _, l := range links {
			if named[n][l.Name] && !needed[n][l.Name] {
				del = append(del, l.Name)
			}
		}
		del = withOrphans(links, named[n], del)
		for _, l := range links {
			if !named[n][l.Name] && !slices.Contains(del, l.Name) {
				plan.Outside[n] = append(plan.Outside[n], l.Name)
			}
		}
		if len(del) > 0 {
			plan.DeleteLinks[n] = dependentsFirst(links, del)
		}
		slices.Sort(plan.Outside[n])
	}
	return plan
}

// withOrphans adds to del the links no set names that are built, at any
// depth, on a link in del (a second backup of a shard, taken by a replica
// whose claim was taken over): once their base is gone nothing restores
// them, and left behind they would keep the engine from deleting it (it
// refuses to delete a base a remaining backup is built on), so the set
// could never be deleted.
func withOrphans(links []Link, named map[string]bool, del []string) []string {
	for changed := true; changed; {
		changed = false
		for _, l := range links {
			if l.Base != "" && !named[l.Name] && slices.Contains(del, l.Base) && !slices.Contains(del, l.Name) {
				del, changed = append(del, l.Name), true
			}
		}
	}
	return del
}

// keptSets are the sets the policy keeps, each with why.
func keptSets(sets []Set, p SetPolicy, now time.Time) map[string]string {
	keep := map[string]string{}
	var fulls []Set
	for _, s := range sets {
		if s.State == SetCompleted && s.Kind == KindFull {
			fulls = append(fulls, s)
		}
	}
	sort.SliceStable(fulls, func(i, j int) bool { return fulls[i].CreatedAt.After(fulls[j].CreatedAt) })
	n := max(p.KeepFullSets, 1)
	for _, s := range sets {
		switch {
		case s.State == SetDeleting: // a cleanup chose to delete it: never kept again, whatever the policy is now
		case s.State == SetOpen:
			keep[s.ID] = "open: its backups may be running"
		case len(fulls) < n:
			keep[s.ID] = fmt.Sprintf("fewer than %d completed full sets", n)
		case !s.CreatedAt.Before(fulls[n-1].CreatedAt):
			keep[s.ID] = fmt.Sprintf("at or after the %d newest completed full sets (keep_full_sets)", n)
		case now.Sub(s.CreatedAt) < p.KeepFor: // 0 keeps none (but a set from a clock ahead: kept, which is safe)
			keep[s.ID] = "younger than keep_for"
		}
	}
	return keep
}

// setLinks are, for each set deleted, the links it names that no kept
// set needs, per shard.
func setLinks(st SetsState, deleted []string, needed map[int]map[string]bool) map[string]map[int][]string {
	out := map[string]map[int][]string{}
	for _, s := range st.Sets {
		if !slices.Contains(deleted, s.ID) {
			continue
		}
		out[s.ID] = map[int][]string{}
		chains, _ := setChains(st, s)
		for n, chain := range chains {
			for _, name := range chain {
				if !needed[n][name] {
					out[s.ID][n] = append(out[s.ID][n], name)
				}
			}
		}
	}
	return out
}

// setChains are the links set s names, per shard: each result's backup
// and every base under it, and, for a set being deleted, the links its
// mark recorded that are still there (a walk from a result whose backup
// went first reaches none of them). problems say where a walk lost its way.
func setChains(st SetsState, s Set) (map[int][]string, []string) {
	chains := map[int][]string{}
	var problems []string
	for n, r := range st.Results[s.ID] {
		chain, broken := walk(st.Links[n], r.Backup)
		if broken != "" && s.State != SetDeleting {
			problems = append(problems, fmt.Sprintf("set %s, shard %d: %s", s.ID, n, broken))
		}
		chains[n] = chain
	}
	for _, folder := range slices.Sorted(maps.Keys(s.Deleting)) { // in order: a folder of no shard skips itself only
		n, err := coord.ShardNumber(folder)
		if err != nil {
			continue
		}
		for _, name := range s.Deleting[folder] {
			if !slices.Contains(chains[n], name) && slices.ContainsFunc(st.Links[n], func(l Link) bool { return l.Name == name }) {
				chains[n] = append(chains[n], name)
			}
		}
	}
	return chains, problems
}

// walk is backup and every base under it in a shard's links; broken says
// where the walk lost its way (a backup or a base not among the links).
// A result without a backup (a shard rejected before it ran) walks none.
func walk(links []Link, backup string) (chain []string, broken string) {
	byName := map[string]Link{}
	for _, l := range links {
		byName[l.Name] = l
	}
	for name := backup; name != ""; {
		l, ok := byName[name]
		switch {
		case !ok && name == backup:
			return chain, fmt.Sprintf("its backup %s is not in the shard's chains", name)
		case !ok:
			return chain, fmt.Sprintf("base %s of %s is not in the shard's chains", name, chain[len(chain)-1])
		case slices.Contains(chain, name):
			return chain, fmt.Sprintf("the chain of %s loops at %s", backup, name)
		}
		chain = append(chain, name)
		name = l.Base
	}
	return chain, ""
}

// dependentsFirst orders the links to delete so that each comes before
// the links it is built on: deepest first, then newest (names are times).
func dependentsFirst(links []Link, del []string) []string {
	depth := map[string]int{}
	for _, name := range del {
		chain, _ := walk(links, name)
		depth[name] = len(chain)
	}
	out := slices.Clone(del)
	sort.SliceStable(out, func(i, j int) bool {
		if depth[out[i]] != depth[out[j]] {
			return depth[out[i]] > depth[out[j]]
		}
		return out[i] > out[j]
	})
	return out
}

func mark(m map[int]map[string]bool, shard int, name string) {
	if m[shard] == nil {
		m[shard] = map[string]bool{}
	}
	m[shard][name] = true
}
