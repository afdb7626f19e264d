package control_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// eventLog records the notifications sent.
type eventLog struct {
	mu     sync.Mutex
	events []sidecar.Event
}

func (l *eventLog) Notify(_ context.Context, e sidecar.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
	return nil
}

// sent lists the events as "event database requester error".
func (l *eventLog) sent() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		out = append(out, e.Event+" "+e.Database+" "+e.RequestedBy+" "+e.Error)
	}
	return out
}

// first is the first event sent.
func (l *eventLog) first() sidecar.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.events[0]
}

// stoppedMidBackup runs a sidecar that notifies into sent, stops it while
// alice's backup runs in ClickHouse, and lets that backup end there: the
// request and its backup's name, as a restart finds them.
func stoppedMidBackup(t *testing.T) (b *bed, sent *eventLog, id, backup string) {
	sent = &eventLog{}
	b = unstartedBed(t)
	b.notifier = sent
	b.start(control.Options{})
	b.db.Hold()
	id = b.request("alice", control.Request{Action: "backup"})
	b.waitUntil(id, "running, naming its backup", func(st control.RequestStatus) bool {
		backup = st.Backup
		return st.State == control.StateRunning && st.Backup != ""
	})
	b.stop()
	b.db.Release()
	return b, sent, id, backup
}

// TestAStoppedBackupIsNotifiedOnceByItsAdoption: a sidecar stops while its
// backup runs in ClickHouse; the stop is no failure (the BACKUP goes on),
// and the restarted sidecar, which adopts the backup, notifies that it
// completed. (The stop sent "backup_failed: context canceled", and the
// adoption nothing.) The notifier is called before the answer is written.
func TestAStoppedBackupIsNotifiedOnceByItsAdoption(t *testing.T) {
	b, sent, id, _ := stoppedMidBackup(t)
	if got := sent.sent(); len(got) != 0 {
		t.Fatalf("a sidecar stopped while its backup ran notified %q, want nothing yet", got)
	}
	b.start(control.Options{})
	b.expect(id, control.StateSucceeded, "completed")
	if got := sent.sent(); len(got) != 1 || got[0] != "backup_completed shop alice " {
		t.Fatalf("the adopted backup succeeded; notifications sent: %q, want one backup_completed of shop", got)
	}
}

// listFailing fails every LIST of shop's folders while fail is set: S3
// answering 503.
type listFailing struct {
	*memstore.ObjectStore
	fail atomic.Bool
}

func (f *listFailing) List(ctx context.Context, prefix string, recursive bool) (coord.Listing, error) {
	if f.fail.Load() && strings.Contains(prefix, "shop") {
		return coord.Listing{}, errors.New("503 SlowDown")
	}
	return f.ObjectStore.List(ctx, prefix, recursive)
}

// TestAStoppedBackupWhoseAdoptionFailsIsNotifiedFailed: the restarted
// sidecar cannot adopt the backup a stop left (S3 fails its reads); the
// request is answered failed, and so is it notified (neither the stop
// nor the adoption notified anything).
func TestAStoppedBackupWhoseAdoptionFailsIsNotifiedFailed(t *testing.T) {
	b, sent, id, backup := stoppedMidBackup(t)
	failing := &listFailing{ObjectStore: b.store}
	failing.fail.Store(true)
	b.wrapStore = func(*memstore.ObjectStore) coord.ObjectStore { return failing }
	b.start(control.Options{})
	b.expect(id, control.StateFailed, "503 SlowDown")
	if got := sent.sent(); len(got) != 1 || !strings.HasPrefix(got[0], "backup_failed shop alice ") {
		t.Fatalf("the adoption failed; notifications sent: %q, want one backup_failed of shop by alice", got)
	}
	if e := sent.first(); e.RequestID != id || e.Backup != backup {
		t.Errorf("the failed adoption's notification names request %q and backup %q, want %s and %s", e.RequestID, e.Backup, id, backup)
	}
}
