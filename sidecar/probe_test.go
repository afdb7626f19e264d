package sidecar_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// ignoring is a store that ignores conditional writes: it writes whatever
// it is sent, as some S3-compatible stores do.
type ignoring struct{ *memstore.ObjectStore }

func (s ignoring) Put(ctx context.Context, key string, data []byte, _ sidecar.PutCondition) (string, error) {
	return s.ObjectStore.Put(ctx, key, data, sidecar.PutCondition{})
}

// TestProbeConditionalWrites: a store that honours If-None-Match and
// If-Match passes and keeps nothing; one that ignores them is refused.
func TestProbeConditionalWrites(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	good := memstore.New()
	svc := sidecar.NewService(good, nil, nil, sidecar.Layout{Prefix: "p"}, sidecar.Options{}, logger)
	if err := svc.ProbeConditionalWrites(context.Background()); err != nil {
		t.Fatalf("a store with conditional writes: %v", err)
	}
	if l, _ := good.List(context.Background(), "", true); len(l.Objects) != 0 {
		t.Fatalf("the probe left %d objects", len(l.Objects))
	}
	svc = sidecar.NewService(ignoring{memstore.New()}, nil, nil, sidecar.Layout{Prefix: "p"}, sidecar.Options{}, logger)
	if err := svc.ProbeConditionalWrites(context.Background()); !errors.Is(err, sidecar.ErrNoConditionalWrites) {
		t.Fatalf("a store that ignores conditional writes: want ErrNoConditionalWrites, got %v", err)
	}
}
