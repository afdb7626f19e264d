package control_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/fakedb"
	"github.com/clickvault/clickvault/sidecar/internal/memcontrol"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
	"github.com/clickvault/clickvault/sidecar/model"
)

// catalogWatch counts the LISTs of shop's catalog between a backup's
// settled row (the backup's own reads are done by then) and the next read
// of shop's rows of the backups table (the full mirror after the answer,
// which reads the catalog first).
type catalogWatch struct {
	control.ControlPlane
	store    *memstore.ObjectStore
	mu       sync.Mutex
	rowReads int  // reads of shop's rows so far
	settled  bool // a completed row of shop was written since the last read
	seen     chan mirrorRead
	// hold, when set, is a request whose answer waits for release to be
	// closed (held is closed once it waits): the gap between a backup's
	// lease and the mirror after its answer, held open.
	hold          string
	held, release chan struct{}
	// writes, when set, gets every batch of rows written (when it has room)
	writes chan []control.CatalogRow
}

func (p *catalogWatch) AppendLog(ctx context.Context, entries ...control.LogEntry) error {
	p.mu.Lock()
	hold := p.hold
	p.mu.Unlock()
	for _, e := range entries {
		if hold != "" && e.RequestID == hold && control.Terminal(e.State) {
			close(p.held)
			<-p.release
		}
	}
	return p.ControlPlane.AppendLog(ctx, entries...)
}

// mirrorRead is what the mirror after a backup's answer found when it
// read shop's rows: the LISTs of the catalog since the backup settled, and
// the rows (the previous mirror's done by then: it held the turn).
type mirrorRead struct {
	lists map[string]int
	rows  map[string]model.CatalogStatus
}

func (p *catalogWatch) WriteCatalog(ctx context.Context, rows []control.CatalogRow) error {
	p.mu.Lock()
	writes := p.writes
	p.mu.Unlock()
	if writes != nil {
		select {
		case writes <- rows:
		default:
		}
	}
	for _, r := range rows {
		if r.Database == "shop" && r.Status == model.CatalogCompleted {
			p.mu.Lock()
			p.store.ResetLists()
			p.settled = true
			p.mu.Unlock()
		}
	}
	return p.ControlPlane.WriteCatalog(ctx, rows)
}

func (p *catalogWatch) CatalogRows(ctx context.Context, database string) ([]control.CatalogRow, error) {
	rows, err := p.ControlPlane.CatalogRows(ctx, database)
	if database != "shop" {
		return rows, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rowReads++
	if p.settled {
		p.settled = false
		read := mirrorRead{lists: p.store.ResetLists(), rows: map[string]model.CatalogStatus{}}
		for _, r := range rows {
			read.rows[r.Name] = r.Status
		}
		select {
		case p.seen <- read:
		default:
		}
	}
	return rows, err
}

func (p *catalogWatch) reads() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rowReads
}

// TestMirrorAfterABackupReadsNoCatalog: the full mirror after a backup's
// answer takes the catalog the backup wrote under its lease instead of
// listing the database's folders and reading its index again (three S3
// requests of every backup in a round of a thousand databases), and the
// table it leaves says what S3 says: a backup another process deleted
// meanwhile is marked deleted.
func TestMirrorAfterABackupReadsNoCatalog(t *testing.T) {
	store := memstore.New()
	db := fakedb.New(store)
	db.Create("shop", map[string]uint64{"orders": 10})
	watch := &catalogWatch{store: store, seen: make(chan mirrorRead, 1)}
	b := &bed{t: t, plane: memcontrol.New("clickvault").WithProofKey(testProofKey), db: db, store: store,
		wrap: func(p control.ControlPlane) control.ControlPlane { watch.ControlPlane = p; return watch }}
	b.start(control.Options{Databases: []string{"shop"}})
	for deadline := time.Now().Add(10 * time.Second); watch.reads() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the mirror at start did not read shop's rows within 10 s")
		}
	}
	first, _ := backupAndMirror(t, b, watch)
	second, seen := backupAndMirror(t, b, watch)
	if seen[first] != model.CatalogCompleted {
		t.Errorf("backup %s is %q in the backups table once the mirror after its answer is done, want completed", first, seen[first])
	}
	// Another process deletes the first backup's folder before the next
	// backup, which reads the catalog under its lease.
	layout := coord.Layout{Prefix: "p"}
	keys, err := store.List(context.Background(), layout.Folder("shop", "full", first), true)
	if err != nil || len(keys.Objects) == 0 {
		t.Fatalf("list backup %s: %d objects, %v", first, len(keys.Objects), err)
	}
	var gone []string
	for _, o := range keys.Objects {
		gone = append(gone, o.Key)
	}
	if err := store.Delete(context.Background(), gone); err != nil {
		t.Fatal(err)
	}
	backupAndMirror(t, b, watch)
	_, seen = backupAndMirror(t, b, watch)
	if seen[second] != model.CatalogCompleted || seen[first] != model.CatalogDeleted {
		t.Errorf("after the backups that followed another process's deletion of %s, the backups table has it %q and %s %q; want deleted and completed",
			first, seen[first], second, seen[second])
	}
}

// backupAndMirror runs a full backup of shop and returns its name and the
// rows the mirror after its answer read (the previous mirror's outcome),
// having checked that this mirror listed none of shop's backup folders.
func backupAndMirror(t *testing.T, b *bed, watch *catalogWatch) (string, map[string]model.CatalogStatus) {
	t.Helper()
	id := b.request("clickvault", control.Request{Action: control.ActionBackup, Database: "shop", Kind: "full"})
	b.expect(id, control.StateSucceeded, "")
	var read mirrorRead
	select {
	case read = <-watch.seen:
	case <-time.After(10 * time.Second):
		t.Fatal("no mirror read shop's rows within 10 s of the backup's answer")
	}
	layout := coord.Layout{Prefix: "p"}
	for _, kind := range []string{"full", "incremental"} {
		if n := read.lists[layout.KindRoot("shop", kind)]; n > 0 {
			t.Errorf("the mirror after the backup's answer listed %s %d times, want none: the backup wrote the catalog", layout.KindRoot("shop", kind), n)
		}
	}
	st, _ := b.plane.Status(context.Background(), id)
	return st.Backup, read.rows
}
