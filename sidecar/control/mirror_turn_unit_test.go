package control

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar"
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

// slowCopies is a [[copy]] target whose catalog takes a second to read:
// every read fails after it, counted.
type slowCopies struct{ reads atomic.Int32 }

func (c *slowCopies) Copies() []string { return []string{"dr"} }

func (c *slowCopies) Copy(ctx context.Context, _ string) (*sidecar.Service, error) {
	c.reads.Add(1)
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
	}
	return nil, errors.New("unreachable")
}

// TestACLIRunsMirrorReadsNoCopyTarget: the databases a CLI run asked to
// mirror have their catalogs mirrored at once, the copies their rows name
// kept: reading every copy target for each of a thousand first held up
// the first mirror by a thousand reads of a slow target.
func TestACLIRunsMirrorReadsNoCopyTarget(t *testing.T) {
	spy := catalogReadSpy{reads: make(chan string, 64)}
	s := newUnitSidecar("a", memstore.New(), spy)
	copies := &slowCopies{}
	s.base.opts.CopyReaders = copies
	queue := NewMirrorRequests()
	ctx, cancel := context.WithCancel(context.Background())
	var g errgroup.Group
	g.Go(func() error { return s.catalogMirror.mirrorLoop(ctx, queue, s.databaseTurn) })
	defer func() { cancel(); _ = g.Wait() }()
	for i := range 20 {
		queue.addCatalog(fmt.Sprintf("db%d", i))
	}
	for range 20 {
		select {
		case <-spy.reads:
		case <-time.After(900 * time.Millisecond):
			t.Fatalf("the asked catalogs were not mirrored within 0.9 s (copy targets read: %d)", copies.reads.Load())
		}
	}
	if n := copies.reads.Load(); n != 0 {
		t.Errorf("copy targets read %d times for a CLI run's asks", n)
	}
}

// TestAnAskedMirrorIsPassedOverWhenTheHolderMirrored: a mirror asked for a
// database whose turn a request holds is passed over when that request
// mirrors the database before letting go (a backup, a cleanup, a check
// do): the start mirror's busy databases were each mirrored twice in a
// round.
func TestAnAskedMirrorIsPassedOverWhenTheHolderMirrored(t *testing.T) {
	spy := catalogReadSpy{reads: make(chan string, 8)}
	s := newUnitSidecar("a", memstore.New(), spy)
	turn := s.databaseTurn("shop")
	turn.Lock()
	queue := NewMirrorRequests()
	ctx, cancel := context.WithCancel(context.Background())
	var g errgroup.Group
	g.Go(func() error { return s.catalogMirror.mirrorLoop(ctx, queue, s.databaseTurn) })
	defer func() { cancel(); _ = g.Wait() }()
	queue.addCatalog("shop")
	time.Sleep(100 * time.Millisecond)  // taken by the loop, its turn busy
	s.catalogMirror.mirror(ctx, "shop") // the holder's own mirror
	<-spy.reads
	turn.Unlock()
	select {
	case db := <-spy.reads:
		t.Errorf("%s mirrored again after its holder mirrored it", db)
	case <-time.After(1500 * time.Millisecond):
	}
	// Asked after that mirror, it is mirrored.
	queue.addCatalog("shop")
	select {
	case <-spy.reads:
	case <-time.After(3 * time.Second):
		t.Error("a mirror asked after the last one was passed over")
	}
}
