package control

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// catalogReadSpy records the databases whose backups table is read.
type catalogReadSpy struct {
	ControlPlane
	reads chan string
}

func (s catalogReadSpy) CatalogRows(_ context.Context, database string) ([]CatalogRow, error) {
	s.reads <- database
	return nil, nil
}

// TestTheStartMirrorWaitsForADatabasesTurn: the mirror at start leaves a
// database a request is working on to the mirror loop (it ends without
// waiting), which mirrors it once the request lets go of it. Run beside the request, it read S3 before a cleanup and
// wrote after the cleanup's own mirror, and the deleted backups stood in
// clickvault.backups as completed.
func TestTheStartMirrorWaitsForADatabasesTurn(t *testing.T) {
	spy := catalogReadSpy{reads: make(chan string, 8)}
	s := newUnitSidecar("a", memstore.New(), spy)
	s.base.opts.Databases = []string{"shop", "crm"}
	turn := s.databaseTurn("shop")
	turn.Lock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	queue := NewMirrorRequests()
	var g errgroup.Group
	g.Go(func() error { return s.catalogMirror.mirrorLoop(ctx, queue, s.databaseTurn) })
	defer func() { cancel(); _ = g.Wait() }()
	done := make(chan struct{})
	go func() { defer close(done); s.catalogMirror.mirrorAll(ctx, s.databaseTurn, queue) }()
	read := func(within time.Duration) string {
		select {
		case db := <-spy.reads:
			return db
		case <-time.After(within):
			return ""
		}
	}
	if db := read(5 * time.Second); db != "crm" {
		t.Fatalf("first mirrored: %q, want crm (shop's turn is taken)", db)
	}
	if db := read(300 * time.Millisecond); db != "" {
		t.Fatalf("%s mirrored while a request holds its turn", db)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the start mirror did not end")
	}
	turn.Unlock()
	if db := read(5 * time.Second); db != "shop" {
		t.Fatalf("after its turn was let go: %q mirrored, want shop", db)
	}
}
