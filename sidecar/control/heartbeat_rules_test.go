package control

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// warnings is a slog handler that keeps the messages of warnings.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) Enabled(context.Context, slog.Level) bool { return true }
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w *warnings) WithGroup(string) slog.Handler            { return w }
func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		w.mu.Lock()
		w.msgs = append(w.msgs, r.Message)
		w.mu.Unlock()
	}
	return nil
}

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.msgs)
}

// failingStore fails every write, or every listing.
type failingStore struct {
	*memstore.ObjectStore
	put, list error
}

func (f failingStore) Put(ctx context.Context, key string, data []byte, cond coord.PutCondition) (string, error) {
	if f.put != nil {
		return "", f.put
	}
	return f.ObjectStore.Put(ctx, key, data, cond)
}

func (f failingStore) List(ctx context.Context, prefix string, recursive bool) (coord.Listing, error) {
	if f.list != nil {
		return coord.Listing{}, f.list
	}
	return f.ObjectStore.List(ctx, prefix, recursive)
}

// beatOnce runs the heartbeat loop until its first beat is done (the
// heartbeat object written, or the warnings said), then stops it.
func beatOnce(t *testing.T, store coord.ObjectStore, done func(*Runner, *warnings) bool) (*Runner, *warnings) {
	t.Helper()
	w := &warnings{}
	logger := slog.New(w)
	s := NewRunner(nil, coord.NewClaims(store, unitLayout, "a", logger), nil, nil, Options{Instance: "a"}, nil, logger)
	ctx, cancel := context.WithCancel(context.Background())
	var g errgroup.Group
	g.Go(func() error { return s.rejecter.heartbeatLoop(ctx) })
	deadline := time.Now().Add(5 * time.Second)
	for !done(s, w) {
		if time.Now().After(deadline) {
			t.Fatalf("the heartbeat loop did not beat: live %v, warnings %v", s.liveNow(), w.all())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := g.Wait(); err != nil {
		t.Fatalf("heartbeat loop: %v", err)
	}
	return s, w
}

func (s *Runner) liveNow() []string {
	s.rejecter.mu.Lock()
	defer s.rejecter.mu.Unlock()
	return slices.Clone(s.rejecter.live)
}

// TestHeartbeatLoop: the loop writes this sidecar's heartbeat and learns
// the live sidecars, quietly; a store that fails is warned of, once a beat,
// with what failed. (Written for the mutation run: docs/mutants.md.)
func TestHeartbeatLoop(t *testing.T) {
	_, w := beatOnce(t, memstore.New(), func(s *Runner, _ *warnings) bool { return slices.Equal(s.liveNow(), []string{"a"}) })
	if len(w.all()) != 0 {
		t.Errorf("a healthy beat warned: %v", w.all())
	}
	down := errors.New("store down")
	for _, c := range []struct {
		store failingStore
		want  string
	}{
		{failingStore{ObjectStore: memstore.New(), put: down}, "write heartbeat; will retry"},
		{failingStore{ObjectStore: memstore.New(), list: down}, "list live sidecars; will retry"},
	} {
		s, w := beatOnce(t, c.store, func(_ *Runner, w *warnings) bool { return len(w.all()) > 0 })
		if got := w.all(); !slices.ContainsFunc(got, func(m string) bool { return strings.Contains(m, c.want) }) {
			t.Errorf("warnings %v, want %q", got, c.want)
		}
		if c.store.list != nil && s.liveNow() != nil {
			t.Errorf("live sidecars from a failed listing: %v", s.liveNow())
		}
	}
}
