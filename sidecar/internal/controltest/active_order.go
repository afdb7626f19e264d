package controltest

import (
	"slices"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/control"
)

// testActiveRequestsOldestFirst: "oldest first" is by requested_at, as the
// SQL adapter orders request_status (ORDER BY s.requested_at), not by the
// insert order: a row inserted later but dated back (within the seconds
// the table's constraint allows) comes first, and it is the one a limit
// keeps. Review of issue 24: memcontrol walks its rows in insert order, so
// the fake answers [later, earlier] where the server answers [earlier,
// later], and no subtest of the suite told them apart.
func testActiveRequestsOldestFirst(t *testing.T, p Plane) {
	now := time.Now()
	first := insertAs(t, p, "alice", control.Request{RequestedAt: now.Add(-time.Second)})[0]
	datedBack := insertAs(t, p, "bob", control.Request{RequestedAt: now.Add(-3 * time.Second)})[0]
	t0 := base()
	appendLog(t, p, logAt(first, control.StateQueued, t0, nil), logAt(datedBack, control.StateQueued, t0, nil))
	for limit, want := range map[int][]string{10: {datedBack, first}, 1: {datedBack}} {
		rs, err := p.ActiveRequests(ctxOf(t), limit)
		if err != nil {
			t.Fatalf("ActiveRequests: %v", err)
		}
		var got []string
		for _, r := range rs {
			got = append(got, r.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ActiveRequests(%d): %v; want %v (oldest requested_at first)", limit, got, want)
		}
	}
}
