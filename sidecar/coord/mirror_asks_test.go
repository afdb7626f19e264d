package coord_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// TestMirrorAsksMergeAndAreReadOnceChanged: two runs' asks both count; an
// ask a day old is dropped by the next run's; the sidecar reads the object
// only when its ETag changed (a HEAD otherwise), and learns which
// databases were asked after a time.
func TestMirrorAsksMergeAndAreReadOnceChanged(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	key := coord.Layout{Prefix: "p"}.MirrorAsksKey()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if err := coord.AskMirror(ctx, store, key, []string{"old"}, t0); err != nil {
		t.Fatal(err)
	}
	if err := coord.AskMirror(ctx, store, key, []string{"shop", "crm"}, t0.Add(25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := coord.AskMirror(ctx, store, key, []string{"shop"}, t0.Add(26*time.Hour)); err != nil {
		t.Fatal(err)
	}
	asks, etag, err := coord.MirrorAsked(ctx, store, key, "")
	if err != nil || etag == "" {
		t.Fatalf("read: %v, ETag %q", err, etag)
	}
	since := func(at time.Time) []string { // the databases asked after at, sorted
		var out []string
		for db, when := range asks.Asks {
			if when.After(at) {
				out = append(out, db)
			}
		}
		slices.Sort(out)
		return out
	}
	if got := since(time.Time{}); !slices.Equal(got, []string{"crm", "shop"}) {
		t.Errorf("asked: %v, want crm and shop (old a day before the last)", got)
	}
	if got := since(t0.Add(25 * time.Hour)); !slices.Equal(got, []string{"shop"}) {
		t.Errorf("asked after the second run: %v, want shop", got)
	}
	store.ResetGets()
	again, seen, err := coord.MirrorAsked(ctx, store, key, etag)
	if err != nil || seen != etag || len(again.Asks) != 0 || store.ResetGets() != 0 {
		t.Errorf("unchanged: %v, ETag %q (want %q), %d asks read", err, seen, etag, len(again.Asks))
	}
}
