// Package memstore is an in-memory coord.ObjectStore for unit tests. It
// answers like S3 (storetest's contract holds for it): If-None-Match: *
// and If-Match are honoured, each PUT makes a new ETag, a missing key is
// ErrNotFound.
package memstore

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// ObjectStore is a bucket in memory, safe for concurrent use.
type ObjectStore struct {
	mu        sync.Mutex
	objects   map[string][]byte
	etags     map[string]string
	puts      int
	gets      int
	lists     map[string]int // how often each prefix was listed since ResetLists
	lock      coord.BucketLock
	lockFor   time.Duration    // the default retention, when lock.Enabled
	lockNow   func() time.Time // the clock that dates a retention
	retention map[string]coord.Retention
	modified  map[string]time.Time
}

var (
	_ coord.ObjectStore = (*ObjectStore)(nil)
	_ coord.ObjectLock  = (*ObjectStore)(nil)
)

// New returns an empty store.
func New() *ObjectStore {
	return &ObjectStore{objects: map[string][]byte{}, etags: map[string]string{}, retention: map[string]coord.Retention{},
		modified: map[string]time.Time{}}
}

func (m *ObjectStore) List(_ context.Context, prefix string, recursive bool) (coord.Listing, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lists == nil {
		m.lists = map[string]int{}
	}
	m.lists[prefix]++
	var out coord.Listing
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
		out.Objects = append(out.Objects, coord.ObjectInfo{Key: k, Size: int64(len(v)), LastModified: m.modified[k]})
	}
	sort.Strings(out.Folders)
	sort.Slice(out.Objects, func(i, j int) bool { return out.Objects[i].Key < out.Objects[j].Key })
	return out, nil
}

func (m *ObjectStore) Get(_ context.Context, key string) ([]byte, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	v, ok := m.objects[key]
	if !ok {
		return nil, "", fmt.Errorf("get %s: %w", key, coord.ErrNotFound)
	}
	return append([]byte(nil), v...), m.etags[key], nil
}

// Put honours cond as S3 does: If-None-Match: * fails on an existing key,
// If-Match fails unless the key's ETag is the one given, and on a missing
// key with ErrNotFound (S3's 404 NoSuchKey, MinIO's too), not 412.
func (m *ObjectStore) Put(_ context.Context, key string, data []byte, cond coord.PutCondition) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, exists := m.objects[key]
	if cond.IfMatch != "" && !exists {
		return "", fmt.Errorf("put %s: %w", key, coord.ErrNotFound)
	}
	if (cond.IfNoneMatch && exists) || (cond.IfMatch != "" && cond.IfMatch != m.etags[key]) {
		return "", fmt.Errorf("put %s: %w", key, coord.ErrPreconditionFailed)
	}
	m.puts++
	m.objects[key] = append([]byte(nil), data...)
	m.etags[key] = fmt.Sprintf(`"mem-%d"`, m.puts)
	m.modified[key] = time.Now().UTC()
	if m.lock.Enabled && m.lockFor > 0 {
		m.retention[key] = coord.Retention{Mode: m.lock.Mode, Until: m.lockNow().Add(m.lockFor).UTC()}
	} else {
		delete(m.retention, key)
	}
	return m.etags[key], nil
}

func (m *ObjectStore) ETag(_ context.Context, key string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objects[key]; !ok {
		return "", fmt.Errorf("%s: %w", key, coord.ErrNotFound)
	}
	return m.etags[key], nil
}

func (m *ObjectStore) Exists(_ context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.objects[key]
	return ok, nil
}

func (m *ObjectStore) Delete(_ context.Context, keys []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.objects, k)
		delete(m.etags, k)
		delete(m.retention, k)
		delete(m.modified, k)
	}
	return nil
}

// ResetGets returns how many GETs were made since the last reset, for
// tests of how much a read costs.
func (m *ObjectStore) ResetGets() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.gets
	m.gets = 0
	return n
}

// ResetLists returns how often each prefix was listed since the last
// reset, for tests of what a loop reads (a count per prefix, so a long
// test's store does not grow with every LIST).
func (m *ObjectStore) ResetLists() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.lists
	m.lists = nil
	return out
}

// URL is a mem:// address of key.
func (m *ObjectStore) URL(key string) string { return "mem://" + key }

// EnableObjectLock gives the bucket Object Lock with a default retention of
// days in mode, dated by now: every object written from then on is held
// until its write's time plus days, as S3 dates a new version. Delete
// still removes an object, as a DELETE without a version id hides one on
// S3 (the store keeps no versions: nothing reads them).
func (m *ObjectStore) EnableObjectLock(mode string, days int, now func() time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lock = coord.BucketLock{Enabled: true, Mode: mode, Days: days}
	m.lockFor, m.lockNow = time.Duration(days)*24*time.Hour, now
}

// SetRetention sets the retention of key's current version, as an
// administrator's PutObjectRetention does.
func (m *ObjectStore) SetRetention(key string, r coord.Retention) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.retention[key] = r
}

// BucketLock is what EnableObjectLock set; nothing before.
func (m *ObjectStore) BucketLock(context.Context) (coord.BucketLock, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lock, nil
}

// Retention is the retention of key's current version.
func (m *ObjectStore) Retention(_ context.Context, key string) (coord.Retention, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objects[key]; !ok {
		return coord.Retention{}, fmt.Errorf("read the retention of %s: %w", key, coord.ErrNotFound)
	}
	return m.retention[key], nil
}
