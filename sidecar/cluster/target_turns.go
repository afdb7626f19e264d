package cluster

import "sync"

// targetTurns let one restore step at a time run into a target database on
// this node. A node steps several databases at once (Options.DatabasesAtOnce),
// and the restores of two sets (of two source databases) into one target
// would both find it empty before either sent its RESTORE, and both write
// into it; one after the other, the second finds the first's tables and
// fails, as a set's restore writes into a new or empty database only.
type targetTurns struct {
	mu    sync.Mutex
	turns map[string]*targetTurn // by target; gone once no step holds or waits for it
}

type targetTurn struct {
	sync.Mutex
	users int // holding or waiting
}

// take waits for target's turn and returns what lets it go.
func (t *targetTurns) take(target string) (release func()) {
	t.mu.Lock()
	if t.turns == nil {
		t.turns = map[string]*targetTurn{}
	}
	turn := t.turns[target]
	if turn == nil {
		turn = &targetTurn{}
		t.turns[target] = turn
	}
	turn.users++
	t.mu.Unlock()
	turn.Lock()
	return func() {
		turn.Unlock()
		t.mu.Lock()
		if turn.users--; turn.users == 0 {
			delete(t.turns, target)
		}
		t.mu.Unlock()
	}
}
