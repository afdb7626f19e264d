package cluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
)

// TestCleanupSetsDeletesOldRequestRecords: the record of which set a
// request made is kept while the request's row may still ask for it
// (RequestRetention) and deleted by the cleanup of sets after; a dry run
// counts it and deletes nothing; without a retention none is deleted.
func TestCleanupSetsDeletesOldRequestRecords(t *testing.T) {
	w := newWorld(t, 1, 1)
	ctx := context.Background()
	for _, id := range []string{"b1", "b2"} {
		w.backupSet(t, control.SetRequest{Database: "shop", Kind: "full", RequestID: id})
	}
	records := func() int {
		t.Helper()
		l, err := w.store.List(ctx, w.layout.SetRequestsFolder("shop"), false)
		if err != nil {
			t.Fatal(err)
		}
		return len(l.Objects)
	}
	if n := records(); n != 2 {
		t.Fatalf("%d request records, want 2", n)
	}
	// The store dates objects by the real clock; the world's starts earlier.
	w.clock.Add(time.Since(w.clock.Now()))
	w.clock.Add(48 * time.Hour)
	reqs := cluster.Requests{Coord: w.nodes[0].c, Chains: &chains{}, Policy: setmodel.SetPolicy{KeepFullSets: 5},
		RequestRetention: 72 * time.Hour}
	if out, err := reqs.CleanupSets(ctx, "shop", false); err != nil || out.DeletedRequestRecords != 0 || records() != 2 {
		t.Fatalf("records 2 days old, kept 3: %+v, %v; %d left", out, err, records())
	}
	w.clock.Add(48 * time.Hour)
	if out, err := reqs.CleanupSets(ctx, "shop", true); err != nil || out.DeletedRequestRecords != 2 || records() != 2 ||
		!strings.Contains(out.Message(), "would delete 2 records of old requests' sets") {
		t.Fatalf("dry run, records 4 days old: %+v, %v; %d left", out, err, records())
	}
	noRetention := reqs
	noRetention.RequestRetention = 0
	if out, err := noRetention.CleanupSets(ctx, "shop", false); err != nil || out.DeletedRequestRecords != 0 || records() != 2 {
		t.Fatalf("no retention: %+v, %v; %d left", out, err, records())
	}
	if out, err := reqs.CleanupSets(ctx, "shop", false); err != nil || out.DeletedRequestRecords != 2 || records() != 0 {
		t.Fatalf("records 4 days old, kept 3: %+v, %v; %d left", out, err, records())
	}
}
