package control_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/internal/fakedb"
	"github.com/clickvault/clickvault/sidecar/internal/memcontrol"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// eventLog records the notifications sent.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) Notify(_ context.Context, e sidecar.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e.Event+" "+e.Database+" "+e.Error)
	return nil
}

func (l *eventLog) sent() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

// TestAStoppedBackupIsNotifiedOnceByItsAdoption: a sidecar stops while its
// backup runs in ClickHouse; the stop is no failure (the BACKUP goes on),
// and the restarted sidecar, which adopts the backup, notifies that it
// completed. (The stop sent "backup_failed: context canceled", and the
// adoption nothing.)
func TestAStoppedBackupIsNotifiedOnceByItsAdoption(t *testing.T) {
	store := memstore.New()
	db := fakedb.New(store)
	db.Create("shop", map[string]uint64{"orders": 10})
	sent := &eventLog{}
	b := &bed{t: t, plane: memcontrol.New("clickvault").WithProofKey(testProofKey), db: db, store: store, notifier: sent}
	b.start(control.Options{})
	db.Hold()
	id := b.request("alice", control.Request{Action: "backup"})
	b.waitUntil(id, "running, naming its backup", func(st control.RequestStatus) bool {
		return st.State == control.StateRunning && st.Backup != ""
	})
	b.stop()
	if got := sent.sent(); len(got) != 0 {
		t.Fatalf("a sidecar stopped while its backup ran notified %q, want nothing yet", got)
	}
	db.Release()
	b.start(control.Options{})
	b.expect(id, control.StateSucceeded, "completed")
	for deadline := time.Now().Add(5 * time.Second); len(sent.sent()) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if got := sent.sent(); len(got) != 1 || got[0] != "backup_completed shop " {
		t.Fatalf("the adopted backup succeeded; notifications sent: %q, want one backup_completed of shop", got)
	}
}
