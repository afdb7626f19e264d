package coord

import (
	"testing"
	"time"
)

// TestPinStaleOnlyPastPinStaleAfter: a pin whose holder was seen
// PinStaleAfter ago still keeps what it names; a moment later it is stale.
func TestPinStaleOnlyPastPinStaleAfter(t *testing.T) {
	seen := time.Unix(1_000_000, 0)
	p := FoundPin{Seen: seen}
	for _, c := range []struct {
		at   time.Time
		want bool
	}{
		{seen, false},
		{seen.Add(PinStaleAfter), false},
		{seen.Add(PinStaleAfter + time.Nanosecond), true},
		{seen.Add(-time.Hour), false}, // a holder whose clock is ahead
	} {
		if got := p.Stale(c.at); got != c.want {
			t.Errorf("seen %s, at %s: stale %v, want %v", seen, c.at, got, c.want)
		}
	}
}
