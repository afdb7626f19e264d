package sidecar

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// memStore is an in-memory ObjectStore for the domain's in-package tests
// (which cannot import internal/memstore: it imports this package); it
// counts GETs. Like S3 it honours If-None-Match: * and If-Match.
type memStore struct {
	mu         sync.Mutex
	objects    map[string][]byte
	etags      map[string]string
	gets, puts int
}

func newMemStore() *memStore {
	return &memStore{objects: map[string][]byte{}, etags: map[string]string{}}
}

func (m *memStore) List(_ context.Context, prefix string, recursive bool) (Listing, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out Listing
	seen := map[string]bool{}
	for k, v := range m.objects {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if i := strings.Index(rest, "/"); i >= 0 && !recursive {
			if f := prefix + rest[:i+1]; !seen[f] {
				seen[f] = true
				out.Folders = append(out.Folders, f)
			}
			continue
		}
		out.Objects = append(out.Objects, ObjectInfo{Key: k, Size: int64(len(v))})
	}
	sort.Strings(out.Folders)
	return out, nil
}

func (m *memStore) Get(_ context.Context, key string) ([]byte, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	v, ok := m.objects[key]
	if !ok {
		return nil, "", ErrNotFound
	}
	return v, m.etags[key], nil
}

func (m *memStore) Put(_ context.Context, key string, data []byte, cond PutCondition) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, exists := m.objects[key]
	if (cond.IfNoneMatch && exists) || (cond.IfMatch != "" && cond.IfMatch != m.etags[key]) {
		return "", ErrPreconditionFailed
	}
	m.puts++
	m.objects[key] = append([]byte(nil), data...)
	m.etags[key] = fmt.Sprintf(`"etag-%d"`, m.puts)
	return m.etags[key], nil
}

func (m *memStore) Exists(_ context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.objects[key]
	return ok, nil
}

func (m *memStore) Delete(_ context.Context, keys []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.objects, k)
		delete(m.etags, k)
	}
	return nil
}

func (m *memStore) URL(key string) string { return "mem://" + key }

func (m *memStore) resetGets() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.gets
	m.gets = 0
	return n
}

// TestCatalogIndexIsOnlyACache: the catalog read through the index equals
// the metadata's truth, whatever the index says of a backup that changed.
func TestCatalogIndexIsOnlyACache(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	svc := NewService(store, nil, nil, Layout{Prefix: "p"}, Options{}, slog.New(slog.DiscardHandler))
	f := backup(KindFull, name(0), StatusCreated, nil)
	i1 := backup(KindIncremental, name(time.Hour), StatusCreated, &f)
	i2 := backup(KindIncremental, name(2*time.Hour), StatusCreating, &i1)
	for _, b := range []Backup{f, i1, i2} {
		if err := svc.writeMeta(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	svc.writeIndex(ctx, "db", []Backup{f, i1, i2}, time.Now())
	// After the index was written: i2 completed, a new i3 appeared, and i1's
	// folder was deleted (by hand).
	i2.Status = StatusCreated
	i3 := backup(KindIncremental, name(3*time.Hour), StatusCreated, &i2)
	for _, b := range []Backup{i2, i3} {
		if err := svc.writeMeta(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	_ = store.Delete(ctx, []string{MetaKey(i1.Folder)})

	store.resetGets()
	cat, err := svc.Catalog(ctx, "db")
	if err != nil {
		t.Fatal(err)
	}
	// Reads: the index, i2 (running in the index), i3 (not in it). f comes
	// from the index; i1 is gone because its folder is.
	if gets := store.resetGets(); gets != 3 {
		t.Errorf("the catalog made %d GETs, want 3", gets)
	}
	// f is the chain; i2 and i3 lost their base i1 and are reported as
	// orphans, with the status their metadata (not the index) has.
	if all := cat.All(); len(all) != 1 || all[0].Name != f.Name || !all[0].Completed() {
		t.Fatalf("chains %v, want only the full %s", all, f.Name)
	}
	if len(cat.Orphans) != 2 || !strings.Contains(cat.Orphans[0].Reason+cat.Orphans[1].Reason, i1.Name) {
		t.Fatalf("orphans %v, want i2 and i3, whose base %s is gone", cat.Orphans, i1.Name)
	}

	// Entries marked DELETING are never trusted: the metadata decides.
	svc.writeIndex(ctx, "db", markDeleting([]Backup{f}, []Deletion{{Backup: f}}), time.Now())
	store.resetGets()
	if _, err := svc.Catalog(ctx, "db"); err != nil {
		t.Fatal(err)
	}
	if gets := store.resetGets(); gets != 4 { // the index, f, i2, i3
		t.Errorf("with f marked deleting the catalog made %d GETs, want 4", gets)
	}
}
