package model

import (
	"errors"
	"fmt"
	"time"
)

// ErrNoFullForIncremental refuses an explicit incremental with nothing to
// build it on.
var ErrNoFullForIncremental = errors.New("an incremental backup was asked for, but there is no completed full backup to build it on")

// ErrTableSetChanged refuses an explicit incremental whose table set is
// not the chain's: a chain holds one table set.
var ErrTableSetChanged = errors.New("an incremental backup was asked for, but the table set is not the newest chain's")

// ErrBrokenChain refuses an explicit incremental on a chain that cannot be
// restored: the new link would not be restorable either.
var ErrBrokenChain = errors.New("an incremental backup was asked for, but the chain it would extend is broken")

// Plan is what the next backup will be.
type Plan struct {
	Kind   Kind
	Base   Backup // the newest completed backup of the newest chain (incremental only)
	Chain  string // the full that roots the chain ("" for a new full: its own name)
	Reason string
	// Forced marks a full taken instead of the incremental the chain
	// would have had: the chain is broken, or its last incremental grew
	// too big.
	Forced bool
}

// PlanRules are the configured rules that start a new chain.
type PlanRules struct {
	// FullEvery starts a new chain when the newest full is this old (0: never).
	FullEvery time.Duration
	// FullWhenIncrementalExceeds starts a new chain after an incremental
	// that stored more than this fraction of the bytes its chain's full
	// stored (0: never). Merges rewrite parts, so after heavy merging an
	// incremental costs as much as a full, and the chain restores slower.
	FullWhenIncrementalExceeds float64
}

// PlanBackup decides full or incremental. want is "" for auto. A full is
// taken when asked for, when no completed full exists, when the newest
// completed full is at least rules.FullEvery old, or when the newest
// backup of its chain is an incremental that stored more than
// rules.FullWhenIncrementalExceeds of the full; otherwise an incremental on
// the newest completed backup of that chain. A failed or running backup is
// never a base.
func PlanBackup(cat Catalog, now time.Time, rules PlanRules, want Kind, set TableSet) (Plan, error) {
	if want == KindFull {
		return Plan{Kind: KindFull, Reason: "a full backup was asked for"}, nil
	}
	chain, ok := cat.NewestCompletedChain()
	if !ok {
		if want == KindIncremental {
			return Plan{}, ErrNoFullForIncremental
		}
		return Plan{Kind: KindFull, Reason: "no completed full backup exists"}, nil
	}
	if !chain.Full.TableSet.Equal(set) {
		if want == KindIncremental {
			return Plan{}, fmt.Errorf("%w: the newest chain %s holds %s, this backup %s", ErrTableSetChanged,
				chain.Name(), chain.Full.TableSet, set)
		}
		return Plan{Kind: KindFull, Reason: fmt.Sprintf("the table set changed: chain %s holds %s, this backup %s; a new chain starts",
			chain.Name(), chain.Full.TableSet, set)}, nil
	}
	age := now.Sub(chain.Full.Time())
	if fullEvery := rules.FullEvery; want == "" && fullEvery > 0 && age >= fullEvery {
		return Plan{Kind: KindFull, Reason: fmt.Sprintf("the newest full backup %s is %s old (full every %s)",
			chain.Full.Name, age.Round(time.Second), fullEvery)}, nil
	}
	base, ok := newestRestorable(cat, chain)
	if !ok {
		return Plan{Kind: KindFull, Reason: "the newest chain has no restorable backup"}, nil
	}
	if why := grewTooBig(chain.Full, base, rules.FullWhenIncrementalExceeds); want == "" && why != "" {
		return Plan{Kind: KindFull, Forced: true, Reason: why}, nil
	}
	return Plan{Kind: KindIncremental, Base: base, Chain: chain.Name(),
		Reason: fmt.Sprintf("incremental on %s, chain %s", base.Name, chain.Name())}, nil
}

func newestRestorable(cat Catalog, chain Chain) (Backup, bool) {
	done := chain.Completed()
	for i := len(done) - 1; i >= 0; i-- {
		if cat.Restorable(done[i]) {
			return done[i], true
		}
	}
	return Backup{}, false
}

// grewTooBig says why base, the newest link of full's chain, ends the
// chain: an incremental that stored more than fraction of what the full
// stored ("" if it did not, or fraction is 0, or the full's size is not
// recorded).
func grewTooBig(full, base Backup, fraction float64) string {
	if fraction <= 0 || base.Kind != KindIncremental || full.StoredBytes() == 0 {
		return ""
	}
	limit := fraction * float64(full.StoredBytes())
	if float64(base.StoredBytes()) <= limit {
		return ""
	}
	return fmt.Sprintf("incremental %s stored %s, more than %g of the %s full %s stored "+
		"(backup.full_when_incremental_exceeds); a new chain starts",
		base.Name, FormatBytes(base.StoredBytes()), fraction, FormatBytes(full.StoredBytes()), full.Name)
}

// OnBrokenChain is the plan when the chain an incremental plan extends
// is broken (problem says how): a full that starts a new chain, or, for an
// explicit incremental, ErrBrokenChain.
func (p Plan) OnBrokenChain(want Kind, problem string) (Plan, error) {
	if want == KindIncremental {
		return Plan{}, fmt.Errorf("%w: chain %s: %s", ErrBrokenChain, p.Chain, problem)
	}
	return Plan{Kind: KindFull, Forced: true, Reason: fmt.Sprintf("chain %s cannot take another link, it is broken: %s; "+
		"a new chain starts", p.Chain, problem)}, nil
}
