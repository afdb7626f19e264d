package sidecar_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/fakedb"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
	"github.com/clickvault/clickvault/sidecar/model"
)

// countingStore counts the GETs of manifests and the LISTs, so a test can
// say what the check before an incremental costs.
type countingStore struct {
	*memstore.ObjectStore
	mu                  sync.Mutex
	manifestGets, lists int
}

func (c *countingStore) Get(ctx context.Context, key string) ([]byte, string, error) {
	if strings.HasSuffix(key, "/"+coord.BackupFile) {
		c.mu.Lock()
		c.manifestGets++
		c.mu.Unlock()
	}
	return c.ObjectStore.Get(ctx, key)
}

func (c *countingStore) List(ctx context.Context, prefix string, recursive bool) (coord.Listing, error) {
	c.mu.Lock()
	c.lists++
	c.mu.Unlock()
	return c.ObjectStore.List(ctx, prefix, recursive)
}

func (c *countingStore) reset() (manifestGets, lists int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	manifestGets, lists, c.manifestGets, c.lists = c.manifestGets, c.lists, 0, 0
	return manifestGets, lists
}

// TestNoLinkOnABrokenBase: on a sound chain an incremental reads no
// manifest of the chain (each link's listing matches the summary its
// metadata keeps) and one LIST per link; once a data object of the second
// link is gone, the next backup is a full that says why in its metadata,
// (the listing no longer matches, so the link's manifest is read, which
// names the object), the check results mark links 2–5 broken, and an
// explicit incremental is refused.
func TestNoLinkOnABrokenBase(t *testing.T) {
	store := &countingStore{ObjectStore: memstore.New()}
	db := fakedb.New(store)
	svc := sidecar.NewService(store, db.Ports(), &events{}, testLayout, sidecar.Options{PollInterval: time.Millisecond,
		FullEvery: 24 * time.Hour, Holder: coord.Holder{Name: "test"}, ControlDatabase: "clickvault"}, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	backup := func(kind model.Kind) (model.Backup, error) {
		return svc.Backup(ctx, sidecar.BackupRequest{Database: "shop", Kind: kind})
	}
	var links []model.Backup
	for i := 0; i < 5; i++ {
		db.Create("shop", map[string]uint64{"orders": uint64(10 + i), "items": 5})
		store.reset()
		b, err := backup("")
		if err != nil || b.Objects == nil {
			t.Fatalf("link %d: %v, summary %v", i+1, err, b.Objects)
		}
		if gets, lists := store.reset(); i > 0 && gets > 1 {
			// Only the new backup's own manifest, read when it completes.
			t.Errorf("link %d: %d manifest GETs, %d LISTs: the check of a sound chain must read no manifest", i+1, gets, lists)
		} else if i == 4 {
			t.Logf("an incremental on a sound chain of 4: %d manifest GETs, %d LISTs", gets, lists)
		}
		links = append(links, b)
	}
	if links[4].Kind != model.KindIncremental || links[4].FullForced {
		t.Fatalf("a sound chain: link 5 is %s (forced %v)", links[4].Kind, links[4].FullForced)
	}
	victim := links[1].Folder + "data/shop/orders/all_1_1_0/data.bin"
	if err := store.Delete(ctx, []string{victim}); err != nil {
		t.Fatal(err)
	}
	if _, err := backup(model.KindIncremental); !errors.Is(err, model.ErrBrokenChain) || !strings.Contains(err.Error(), victim) {
		t.Fatalf("an explicit incremental on the broken chain: %v", err)
	}
	b, err := backup("")
	if err != nil || b.Kind != model.KindFull || !b.FullForced || b.Chain != b.Name {
		t.Fatalf("auto on the broken chain: %s forced=%v chain %s: %v", b.Kind, b.FullForced, b.Chain, err)
	}
	for _, want := range []string{links[0].Name, links[1].Name, victim} {
		if !strings.Contains(b.KindReason, want) {
			t.Errorf("kind reason %q does not name %s", b.KindReason, want)
		}
	}
	// The verdict is kept for the catalog, as check keeps it.
	results, err := svc.Results(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range links {
		got := results.Checks[l.Name]
		if broken := i >= 1; broken != (got.Verdict == model.CheckBroken) {
			t.Errorf("link %d in the check results: %+v", i+1, got)
		}
	}
	if !strings.Contains(results.Checks[links[1].Name].Problem, victim) {
		t.Errorf("the broken link's problem: %q", results.Checks[links[1].Name].Problem)
	}
	if next, err := backup(""); err != nil || next.Kind != model.KindIncremental || next.Base != b.Name {
		t.Fatalf("the backup after the new full: %s on %s, %v", next.Kind, next.Base, err)
	}
}

// TestBigManifestSummedUpByListing: a backup whose manifest is too big to
// read when it completes keeps the summary of its folder as listed then,
// so the check before the next incremental still reads no manifest, and
// still finds an object deleted later.
func TestBigManifestSummedUpByListing(t *testing.T) {
	defer sidecar.SetMaxManifestRead(10)()
	store := &countingStore{ObjectStore: memstore.New()}
	db := fakedb.New(store)
	svc := sidecar.NewService(store, db.Ports(), &events{}, testLayout, sidecar.Options{PollInterval: time.Millisecond,
		FullEvery: 24 * time.Hour, Holder: coord.Holder{Name: "test"}, ControlDatabase: "clickvault"}, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	db.Create("shop", map[string]uint64{"orders": 10, "items": 5})
	full, err := svc.Backup(ctx, sidecar.BackupRequest{Database: "shop"})
	if err != nil || full.Objects == nil || full.TableBytes != nil {
		t.Fatalf("the full: %v, summary %v, table bytes %v", err, full.Objects, full.TableBytes)
	}
	store.reset()
	db.Create("shop", map[string]uint64{"orders": 11, "items": 5})
	inc, err := svc.Backup(ctx, sidecar.BackupRequest{Database: "shop"})
	if gets, _ := store.reset(); err != nil || inc.Kind != model.KindIncremental || gets != 0 {
		t.Fatalf("the incremental: %s, %v, %d manifest GETs (want none)", inc.Kind, err, gets)
	}
	victim := full.Folder + "data/shop/orders/all_1_1_0/data.bin"
	if err := store.Delete(ctx, []string{victim}); err != nil {
		t.Fatal(err)
	}
	b, err := svc.Backup(ctx, sidecar.BackupRequest{Database: "shop"})
	if err != nil || b.Kind != model.KindFull || !strings.Contains(b.KindReason, victim) {
		t.Fatalf("after the delete: %s, %q, %v", b.Kind, b.KindReason, err)
	}
}
