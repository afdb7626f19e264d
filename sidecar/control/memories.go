package control

import (
	"maps"
	"time"
)

// What the runner remembers of requests (ended, foreign) is forgotten
// once past its use, and the maps holding it are rebuilt when they have
// shrunk to a fraction of their peak: a Go map never gives back the
// buckets a flood grew it to (180,000 ended junk requests held 12 MB
// after every entry was gone).

// shrinkFrom is the peak below which a map is not worth rebuilding.
const shrinkFrom = 4096

// pruneMemories is pruneMemoriesLocked under the runner's lock: the poll
// loop's, as a sidecar that answers nothing (another wins every claim)
// would otherwise never forget its foreign requests.
func pruneMemories(s *Runner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pruneMemoriesLocked(s, s.base.now())
}

// pruneMemoriesLocked, at most every endedPruneEvery, forgets the ended
// requests older than endedMemory (counted from the start of the read of
// pending requests under way, if one is), the requests another sidecar claimed
// whose time to be left alone is up (answered there, they are never read
// pending again, so dispatch would never drop them), and the
// confirmations' old verdicts. s.mu is held.
func pruneMemoriesLocked(s *Runner, now time.Time) {
	if now.Sub(s.endedPruned) <= endedPruneEvery {
		return
	}
	s.endedPeak = max(s.endedPeak, len(s.ended))
	// endedMemory back from now, or from the start of the read under way,
	// which may still hand on what it found pending then.
	forget := now.Add(-endedMemory)
	if !s.readingSince.IsZero() {
		forget = s.readingSince.Add(-endedMemory)
	}
	for old, at := range s.ended {
		if at.Before(forget) {
			delete(s.ended, old)
		}
	}
	s.foreignPeak = max(s.foreignPeak, len(s.foreign))
	for id, until := range s.foreign {
		if !now.Before(until) {
			delete(s.foreign, id)
		}
	}
	s.ended = shrunk(s.ended, &s.endedPeak)
	s.foreign = shrunk(s.foreign, &s.foreignPeak)
	s.confirmations.pruneConfirmations(now)
	s.endedPruned = now
}

// setReadingSince notes when the read of pending requests under way
// began (zero: none is).
func setReadingSince(s *Runner, began time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readingSince = began
}

// shrunk is m, or a copy of it when it holds under a quarter of its peak
// (which then is its size).
func shrunk[V any](m map[string]V, peak *int) map[string]V {
	if *peak < shrinkFrom || len(m) >= *peak/4 {
		return m
	}
	*peak = len(m)
	fresh := make(map[string]V, len(m)) // not maps.Clone, which may keep m's size
	maps.Copy(fresh, m)
	return fresh
}
