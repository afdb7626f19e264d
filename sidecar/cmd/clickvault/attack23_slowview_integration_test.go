package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// TestAttack23SlowViewsOnTheCatalogHoldEveryAnswer: grants.sql lets every
// requester read clickvault.backups, so mallory (the requester's rights
// plus CREATE VIEW on her own database) hangs materialized views on it.
// The sidecar ignores their errors (materialized_views_ignore_errors), but
// not their time: ten views that each sleep 3 s make every catalog write
// take 30 s, and a backup's answer waits for the catalog ("the catalog
// first, then the answer"). alice's backup of 500 rows (under a second
// without the views) must still be answered within 10 s.
func TestAttack23SlowViewsOnTheCatalogHoldEveryAnswer(t *testing.T) {
	h, _ := newIdentitySidecar(t, identityUsers())
	mallory := h.as("mallory")
	for i := range 10 {
		q := fmt.Sprintf("CREATE MATERIALIZED VIEW mallory_db.slow%d TO mallory_db.sink AS "+
			"SELECT toString(sleep(3)) AS action FROM clickvault.backups", i)
		if err := mallory.Do(h.ctx, ch.Query{Body: q}); ch.IsErr(err, proto.ErrAccessDenied) {
			t.Logf("resisted: requesters read the catalog through a view, not backups: %v", err)
			return
		} else if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	start := time.Now()
	id := h.request(h.as("alice"), "action, database", "'backup', 'shop'")
	st := h.waitState(id, 5*time.Minute, "succeeded", "failed", "rejected")
	took := time.Since(start)
	t.Logf("alice's backup beside mallory's slow views: %s after %s", st.state, took.Round(time.Millisecond))
	if st.state != "succeeded" || took > 10*time.Second {
		t.Errorf("DEFECT: alice's backup of 500 rows beside mallory's views on the catalog: %s after %s; want succeeded within 10 s",
			st.state, took.Round(time.Millisecond))
	}
}
