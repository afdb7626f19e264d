package control_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/internal/fakedb"
	"github.com/clickvault/clickvault/sidecar/internal/memcontrol"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// heldMirror holds the catalog mirror's read of one database's rows while
// held: the full mirror that follows a backup's answer then cannot end.
type heldMirror struct {
	control.ControlPlane
	database string
	mu       sync.Mutex
	held     bool
	read     map[string]int // reads by database
	released chan struct{}
}

func (p *heldMirror) CatalogRows(ctx context.Context, database string) ([]control.CatalogRow, error) {
	p.mu.Lock()
	held := p.held && database == p.database
	if p.read == nil {
		p.read = map[string]int{}
	}
	p.read[database]++
	p.mu.Unlock()
	if held {
		select {
		case <-p.released:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return p.ControlPlane.CatalogRows(ctx, database)
}

// TestMirrorAfterABackupHoldsNoWorker: with one worker, a backup's answer
// is followed by the full mirror of its database's catalog; a slow mirror
// must not keep the next request (another database's backup) from
// running: in a round of many databases each mirror held a worker for its
// reads.
func TestMirrorAfterABackupHoldsNoWorker(t *testing.T) {
	store := memstore.New()
	db := fakedb.New(store)
	db.Create("shop", map[string]uint64{"orders": 10})
	db.Create("ops", map[string]uint64{"jobs": 10})
	held := &heldMirror{database: "shop", released: make(chan struct{})}
	b := &bed{t: t, plane: memcontrol.New("clickvault").WithProofKey(testProofKey), db: db, store: store,
		wrap: func(p control.ControlPlane) control.ControlPlane { held.ControlPlane = p; return held }}
	b.start(control.Options{Databases: []string{"shop", "ops"}, Workers: 1})
	var once sync.Once
	release := func() { once.Do(func() { close(held.released) }) }
	t.Cleanup(release) // before the bed stops: cleanups run last first
	// The mirror at start takes each database's turn: held, it would keep
	// shop's backup from running at all. It reads both, then holding starts.
	for start := time.Now(); ; time.Sleep(5 * time.Millisecond) {
		held.mu.Lock()
		read := held.read["shop"] > 0 && held.read["ops"] > 0
		if read {
			held.held = true
		}
		held.mu.Unlock()
		if read {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("the mirror at start read no catalog of shop and ops within 5 s")
		}
	}
	b.expect(b.request("clickvault", control.Request{Action: control.ActionBackup, Database: "shop"}), control.StateSucceeded, "")
	next := b.request("clickvault", control.Request{Action: control.ActionBackup, Database: "ops"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := b.plane.Status(context.Background(), next)
		if err == nil && st.State == control.StateSucceeded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ops's backup, while shop's catalog mirror is held: %+v (%v), want succeeded: the mirror holds the only worker", st, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	release()
}
