package sidecar

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
)

// TestProbeConditionalWrites: a store that honours If-None-Match and
// If-Match passes and keeps nothing; one that ignores them is refused.
func TestProbeConditionalWrites(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	good := newMemStore()
	svc := NewService(good, nil, nil, Layout{Prefix: "p"}, Options{}, logger)
	if err := svc.ProbeConditionalWrites(context.Background()); err != nil {
		t.Fatalf("a store with conditional writes: %v", err)
	}
	if len(good.objects) != 0 {
		t.Fatalf("the probe left %d objects", len(good.objects))
	}
	bad := newMemStore()
	bad.ignoreConditions = true
	svc = NewService(bad, nil, nil, Layout{Prefix: "p"}, Options{}, logger)
	if err := svc.ProbeConditionalWrites(context.Background()); !errors.Is(err, ErrNoConditionalWrites) {
		t.Fatalf("a store that ignores conditional writes: want ErrNoConditionalWrites, got %v", err)
	}
}
