package controltest

import (
	"reflect"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/control"
)

// testSets: the sets table gives back the rows of one database, oldest
// first, every field as written (times to the millisecond in UTC, reasons
// {} rather than nil), and a row written again for a set replaces the
// earlier one (ReplacingMergeTree read FINAL).
func testSets(t *testing.T, p Plane) {
	ctx := ctxOf(t)
	created := time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)
	sealed := created.Add(time.Minute)
	open := control.SetSummary{ID: "20261201T100000123Z", Database: "shop", State: "open", Kind: "full",
		Shards: []int{1, 2, 3}, RequestedBy: "alice", CreatedAt: created}
	lastStart := created.Add(-23 * time.Hour)
	older := control.SetSummary{ID: "20261130T100000000Z", Database: "shop", State: "partial", Kind: "incremental",
		Shards: []int{1, 2}, RequestedBy: "clickvault", CreatedAt: created.Add(-24 * time.Hour), SealedAt: &sealed,
		Reasons: map[string]string{"shard-2": "timed out"}, LastShardStart: &lastStart}
	other := control.SetSummary{ID: "20261201T100000123Z", Database: "ops", State: "completed", Kind: "full", Shards: []int{1},
		CreatedAt: created}
	if err := p.WriteSets(ctx, []control.SetSummary{open, older, other}); err != nil {
		t.Fatalf("WriteSets: %v", err)
	}
	sealedOpen := open
	sealedOpen.State, sealedOpen.SealedAt = "completed", &sealed
	if err := p.WriteSets(ctx, []control.SetSummary{sealedOpen}); err != nil {
		t.Fatalf("WriteSets again: %v", err)
	}
	rows, err := p.SetRows(ctx, "shop")
	if err != nil {
		t.Fatalf("SetRows: %v", err)
	}
	want := []control.SetSummary{storedSet(older), storedSet(sealedOpen)}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("sets of shop\n%+v\nwant\n%+v", rows, want)
	}
}

// storedSet is a set row as read back.
func storedSet(r control.SetSummary) control.SetSummary {
	r.CreatedAt = r.CreatedAt.UTC().Truncate(time.Millisecond)
	if r.SealedAt != nil {
		v := r.SealedAt.UTC().Truncate(time.Millisecond)
		r.SealedAt = &v
	}
	if r.LastShardStart != nil {
		v := r.LastShardStart.UTC().Truncate(time.Millisecond)
		r.LastShardStart = &v
	}
	if r.Reasons == nil {
		r.Reasons = map[string]string{}
	}
	return r
}
