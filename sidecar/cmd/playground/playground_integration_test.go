package main

import (
	"context"
	"testing"
	"time"
)

// TestQuickStart runs the README's quick start: the whole loop must end
// without error (the restore compared equal).
func TestQuickStart(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the test bed; run without -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := run(ctx, 20_000, false); err != nil {
		t.Fatalf("the quick start failed: %v", err)
	}
}
