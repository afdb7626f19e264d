package coord_test

import (
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// TestRetentionHoldsAtItsEdge: a retention holds until its date, not at
// it; a legal hold holds whatever its date; nothing holds nothing.
func TestRetentionHoldsAtItsEdge(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		r    coord.Retention
		want bool
	}{
		{"none", coord.Retention{}, false},
		{"until a moment after now", coord.Retention{Mode: "GOVERNANCE", Until: now.Add(time.Millisecond)}, true},
		{"until now", coord.Retention{Mode: "GOVERNANCE", Until: now}, false},
		{"a legal hold, its date long past", coord.Retention{Mode: "GOVERNANCE", Until: now.Add(-time.Hour), LegalHold: true}, true},
		{"a legal hold alone", coord.Retention{LegalHold: true}, true},
	} {
		if got := c.r.Holds(now); got != c.want {
			t.Errorf("%s: holds %v, want %v", c.name, got, c.want)
		}
	}
}
