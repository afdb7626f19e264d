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

// Plan is what the next backup will be.
type Plan struct {
	Kind   Kind
	Base   Backup // the newest completed backup of the newest chain (incremental only)
	Chain  string // the full that roots the chain ("" for a new full: its own name)
	Reason string
}

// PlanBackup decides full or incremental. want is "" for auto. A full is
// taken when asked for, when no completed full exists, or when the newest
// completed full is at least fullEvery old; otherwise an incremental on the
// newest completed backup of that chain. A failed or running backup is
// never a base.
func PlanBackup(cat Catalog, now time.Time, fullEvery time.Duration, want Kind, set TableSet) (Plan, error) {
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
	if want == "" && fullEvery > 0 && age >= fullEvery {
		return Plan{Kind: KindFull, Reason: fmt.Sprintf("the newest full backup %s is %s old (full every %s)",
			chain.Full.Name, age.Round(time.Second), fullEvery)}, nil
	}
	base, ok := newestRestorable(cat, chain)
	if !ok {
		return Plan{Kind: KindFull, Reason: "the newest chain has no restorable backup"}, nil
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
