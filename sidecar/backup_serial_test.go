package sidecar_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/fakedb"
	"github.com/clickvault/clickvault/sidecar/model"
)

// TestBackupRefusedWhileAnotherClosesIsSentAgain: a server with
// allow_concurrent_backups = false refuses a BACKUP sent while the last
// one is still closing (its .backup object written, its turn given back,
// ClickHouse not yet done). That BACKUP is sent again, under a new
// operation id in its metadata, once the other ended, and completes.
func TestBackupRefusedWhileAnotherClosesIsSentAgain(t *testing.T) {
	var e *engine
	var sentUnrecorded []string // operations sent while the metadata named another
	e, turns := serialServer(t, func(point string) {
		if point == "backup-sent" {
			if sent, meta := e.operations(t)[0].ID, e.metaOperation(t, "shelf"); meta != "" && meta != sent {
				sentUnrecorded = append(sentUnrecorded, sent)
			}
		}
	})
	closing := e.startBackup(t, "shop", turns, nil)
	waitUntil(t, "the first backup's turn is given back at its .backup object", func() bool {
		return len(e.operations(t)) == 1 && turns.Held() == 0
	})
	var started atomic.Int32
	second := e.startBackup(t, "shelf", turns, func(model.Backup) { started.Add(1) })
	waitUntil(t, "the second BACKUP refused", func() bool { return len(e.refusals(t)) == 1 })
	time.Sleep(50 * time.Millisecond) // time to send it again, were it not waiting
	if n := len(e.operations(t)); n != 2 || turns.Held() != 1 {
		t.Fatalf("while the first backup closes: %d BACKUPs sent (want 2: it, and the refused one waiting), "+
			"%d turns held (want 1: the refused one's)", n, turns.Held())
	}
	e.db.Release() // the first backup ends
	for _, done := range []chan backupResult{closing, second} {
		if r := <-done; r.err != nil || !r.b.Completed() {
			t.Fatalf("backup of %s: %v (%s)", r.b.Database, r.err, r.b.Status)
		}
	}
	ops := e.operations(t)
	refused := e.refusals(t)[0]
	if len(ops) != 3 || !strings.Contains(refused.Error, "Code: 587") {
		t.Fatalf("ClickHouse was sent %d BACKUPs (want 3: one, one refused, it again); refusal: %q", len(ops), refused.Error)
	}
	if started.Load() != 2 || len(sentUnrecorded) > 0 {
		t.Fatalf("Started was called %d times for a backup sent twice (want 2, one per operation id); "+
			"operations sent before the metadata named them: %v", started.Load(), sentUnrecorded)
	}
	cat, err := e.Catalog(context.Background(), "shelf")
	if err != nil {
		t.Fatal(err)
	}
	b := cat.All()[0]
	if !b.Completed() || b.BackupID == refused.ID || b.BackupID != ops[0].ID {
		t.Fatalf("shelf's backup %s has operation %s; the refused one was %s, the last sent %s", b.Status, b.BackupID, refused.ID, ops[0].ID)
	}
}

// TestBackupRefusedBesideAnotherClientsIsSentAgainOnceItEnded: the same
// refusal while none of the round's own backups is closing (another
// client's BACKUP runs; here one of other turns): the refused BACKUP waits
// until ClickHouse lists no backup in progress, then is sent again.
func TestBackupRefusedBesideAnotherClientsIsSentAgainOnceItEnded(t *testing.T) {
	e, turns := serialServer(t, nil)
	other := e.startBackup(t, "shop", sidecar.NewTurns(1), nil)
	waitUntil(t, "the other client's backup written", func() bool { return len(e.operations(t)) == 1 })
	second := e.startBackup(t, "shelf", turns, nil)
	waitUntil(t, "shelf's BACKUP refused", func() bool { return len(e.refusals(t)) == 1 })
	time.Sleep(50 * time.Millisecond) // time to send it again, were it not waiting for the server
	if n := len(e.operations(t)); n != 2 {
		t.Fatalf("ClickHouse was sent %d BACKUPs while the other client's ran, want 2: it, and shelf's once", n)
	}
	e.db.Release()
	for _, done := range []chan backupResult{other, second} {
		if r := <-done; r.err != nil || !r.b.Completed() {
			t.Fatalf("backup of %s: %v (%s)", r.b.Database, r.err, r.b.Status)
		}
	}
}

// TestBackupRefusedWhileTheServerStaysBusyFailsWithWhatToSet: a server
// still busy with another BACKUP when OperationTimeout has passed: the
// refusal is the backup's failure, with ClickHouse's words and what to set.
func TestBackupRefusedWhileTheServerStaysBusyFailsWithWhatToSet(t *testing.T) {
	e := newEngineOn(t, sidecar.Options{OperationTimeout: 300 * time.Millisecond}, fakedb.NewSerial)
	e.db.Create("shelf", map[string]uint64{"books": 3})
	e.db.Hold()
	other := e.startBackup(t, "shop", sidecar.NewTurns(1), nil)
	waitUntil(t, "the other client's backup written", func() bool { return len(e.operations(t)) == 1 })
	r := <-e.startBackup(t, "shelf", sidecar.NewTurns(1), nil)
	if r.err == nil || !strings.Contains(r.err.Error(), "CONCURRENT_ACCESS_NOT_SUPPORTED") || r.b.Status != model.StatusFailed ||
		!strings.Contains(r.err.Error(), "run no other BACKUP beside ClickVault's") {
		t.Fatalf("backup refused beside a BACKUP that outlasts the wait: %v (%s), want it failed with ClickHouse's refusal "+
			"and what to set", r.err, r.b.Status)
	}
	e.db.Release()
	<-other
}

// serialServer is an engine on a server that refuses concurrent backups
// and holds every operation until Release, with databases shop and
// shelf, and one turn for the round; fault, if set, is its FaultPoint.
func serialServer(t *testing.T, fault func(string)) (*engine, sidecar.Turns) {
	e := newEngineOn(t, sidecar.Options{FaultPoint: fault}, fakedb.NewSerial)
	e.db.Create("shelf", map[string]uint64{"books": 3})
	e.db.Hold()
	return e, sidecar.NewTurns(1)
}

type backupResult struct {
	b   model.Backup
	err error
}

// startBackup starts a full backup of database under turns (started, if
// set, is its BackupRequest.Started); its result comes on the channel.
func (e *engine) startBackup(t *testing.T, database model.DatabaseName, turns sidecar.Turns, started func(model.Backup)) chan backupResult {
	done := make(chan backupResult, 1)
	go func() {
		b, err := e.Backup(context.Background(), sidecar.BackupRequest{Database: database, Kind: model.KindFull, Turns: turns,
			Started: started})
		done <- backupResult{b, err}
	}()
	return done
}

// operations are system.backups' rows, newest first.
func (e *engine) operations(t *testing.T) []sidecar.Operation {
	ops, err := e.db.RecentOperations(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

// refusals are the operations ClickHouse refused as concurrent.
func (e *engine) refusals(t *testing.T) []sidecar.Operation {
	var out []sidecar.Operation
	for _, op := range e.operations(t) {
		if strings.Contains(op.ErrorDetail, "CONCURRENT_ACCESS_NOT_SUPPORTED") {
			out = append(out, op)
		}
	}
	return out
}

// waitUntil polls cond until it holds, failing the test after 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal(errors.New("never: " + what))
		case <-time.After(time.Millisecond):
		}
	}
}

// metaOperation is the operation id the metadata of database's one backup
// names ("" while it has none).
func (e *engine) metaOperation(t *testing.T, database string) string {
	listing, err := e.store.List(context.Background(), "", true)
	if err != nil {
		t.Error(err)
		return ""
	}
	for _, o := range listing.Objects {
		if strings.Contains(o.Key, "/"+database+"/") && strings.HasSuffix(o.Key, coord.MetaFile) {
			data, _, err := e.store.Get(context.Background(), o.Key)
			var meta struct {
				BackupID string `json:"backup_id"`
			}
			if err != nil || json.Unmarshal(data, &meta) != nil {
				t.Errorf("read %s: %v", o.Key, err)
			}
			return meta.BackupID
		}
	}
	return ""
}

// TestBackupAdoptedAfterARestartHoldsATurn: a run killed after sending
// shop's BACKUP leaves it in ClickHouse; the next round adopts it. While
// it is waited for it holds one of the round's turns, as a BACKUP sent now
// would (here it is closing: its .backup object is written), so shelf's
// BACKUP, refused beside it, is sent again once it ended: both complete.
func TestBackupAdoptedAfterARestartHoldsATurn(t *testing.T) {
	e, turns := serialServer(t, nil)
	ctx, kill := context.WithCancel(context.Background())
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		_, _ = e.Backup(ctx, sidecar.BackupRequest{Database: "shop", Kind: model.KindFull, RequestID: "before", Turns: sidecar.NewTurns(1)})
	}()
	waitUntil(t, "the killed run's BACKUP sent", func() bool { return len(e.operations(t)) == 1 })
	kill()
	<-killed
	adopting := e.startBackup(t, "shop", turns, nil)
	time.Sleep(50 * time.Millisecond) // the adoption waits for shop's BACKUP
	second := e.startBackup(t, "shelf", turns, nil)
	time.Sleep(50 * time.Millisecond) // shelf's BACKUP is sent and refused
	e.db.Release()
	for _, done := range []chan backupResult{adopting, second} {
		if r := <-done; r.err != nil || !r.b.Completed() {
			t.Fatalf("backup of %s: %v (%s)", r.b.Database, r.err, r.b.Status)
		}
	}
}

// TestServerRefusingConcurrentBackupsIsLearned: a round at three turns
// on a server with allow_concurrent_backups = false. Three BACKUPs sent
// at once: the server takes one and refuses the other two. That refusal
// teaches the round that the server runs one BACKUP at a time, so two
// more databases backed up after it are sent alone, each once the one
// before it ended, and refused no more (before, each was sent as soon as
// it had a turn, and refused beside the others); every database is
// backed up.
func TestServerRefusingConcurrentBackupsIsLearned(t *testing.T) {
	e := newEngineOn(t, sidecar.Options{}, fakedb.NewSerial)
	dbs := []model.DatabaseName{"shop", "shelf", "attic", "cellar", "garage"}
	for _, db := range dbs[1:] {
		e.db.Create(string(db), map[string]uint64{"boxes": 1})
	}
	e.db.Hold()
	turns := sidecar.NewTurns(3)
	var pending []chan backupResult
	for _, db := range dbs[:3] {
		pending = append(pending, e.startBackup(t, db, turns, nil))
	}
	waitUntil(t, "the round learns the server refuses a BACKUP beside another", turns.Serial)
	for _, db := range dbs[3:] {
		pending = append(pending, e.startBackup(t, db, turns, nil))
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(pending) > 0 && time.Now().Before(deadline) {
		e.db.Release() // the BACKUP in the server ends; the next one sent is held again
		e.db.Hold()
		time.Sleep(20 * time.Millisecond)
		pending = collectCompleted(t, pending)
	}
	e.db.Release()
	if len(pending) > 0 {
		t.Fatalf("%d backups still running after 30 s", len(pending))
	}
	if n := len(e.refusals(t)); n > 2 {
		t.Errorf("ClickHouse refused %d BACKUPs, want 2 at most: those sent at once beside the first, none after", n)
	}
}

// collectCompleted takes the results that came, each a completed backup,
// and returns the channels still waiting.
func collectCompleted(t *testing.T, pending []chan backupResult) []chan backupResult {
	t.Helper()
	var still []chan backupResult
	for _, done := range pending {
		select {
		case r := <-done:
			if r.err != nil || !r.b.Completed() {
				t.Errorf("backup of %s: %v (%s)", r.b.Database, r.err, r.b.Status)
			}
		default:
			still = append(still, done)
		}
	}
	return still
}

// TestRefusedBackupStoppedBeforeItsResendIsTakenAnew: a backup refused
// beside another client's waits to be sent again when its run is stopped
// (SIGTERM). Its metadata names the refused operation; after the restart,
// adopting it finds ClickHouse wrote nothing (it refuses before writing):
// the BACKUP never reached it, so the metadata is removed and Adopt says
// the backup is gone, for its request to take one anew, not fail with a
// refusal that was only a wait.
func TestRefusedBackupStoppedBeforeItsResendIsTakenAnew(t *testing.T) {
	e, turns := serialServer(t, nil)
	other := e.startBackup(t, "shop", sidecar.NewTurns(1), nil)
	waitUntil(t, "the other client's backup written", func() bool { return len(e.operations(t)) == 1 })
	ctx, stop := context.WithCancel(context.Background())
	var name string
	done := make(chan error, 1)
	go func() {
		_, err := e.Backup(ctx, sidecar.BackupRequest{Database: "shelf", Kind: model.KindFull, Turns: turns,
			Started: func(b model.Backup) { name = b.Name }})
		done <- err
	}()
	waitUntil(t, "shelf's BACKUP refused", func() bool { return len(e.refusals(t)) == 1 })
	stop() // SIGTERM while it waits to be sent again
	if err := <-done; err == nil {
		t.Fatal("the backup stopped while it waited to be sent again ended without an error")
	}
	e.db.Release()
	<-other
	_, err := e.Adopt(context.Background(), "shelf", name, sidecar.Requester{}, nil, sidecar.NewTurns(1))
	if !errors.Is(err, sidecar.ErrBackupGone) {
		t.Fatalf("adopting the refused backup after a restart: %v, want it gone (never sent), for its request to take one anew", err)
	}
	if cat, err := e.Catalog(context.Background(), "shelf"); err != nil || len(cat.All()) != 0 {
		t.Fatalf("shelf's catalog after the adoption: %v (%v), want empty", cat.All(), err)
	}
}

// TestRefusalsAreForgottenAfterAWhile: turns made serial by a refusal go
// back to sending at once after serialMemory (an hour; here cut short once
// the backups are done): the operator may have turned
// allow_concurrent_backups on while serve ran. A server still refusing is
// learned again, at the cost of one refusal.
func TestRefusalsAreForgottenAfterAWhile(t *testing.T) {
	e, turns := serialServer(t, nil)
	other := e.startBackup(t, "shop", sidecar.NewTurns(1), nil)
	waitUntil(t, "the other client's backup written", func() bool { return len(e.operations(t)) == 1 })
	second := e.startBackup(t, "shelf", turns, nil)
	waitUntil(t, "the refusal learned", turns.Serial)
	e.db.Release()
	for _, done := range []chan backupResult{other, second} {
		if r := <-done; r.err != nil || !r.b.Completed() {
			t.Fatalf("backup of %s: %v (%s)", r.b.Database, r.err, r.b.Status)
		}
	}
	if !turns.Serial() {
		t.Fatal("the refusal was forgotten at once, not after an hour")
	}
	defer sidecar.ForgetRefusalsAfter(10 * time.Millisecond)()
	waitUntil(t, "the refusal forgotten", func() bool { return !turns.Serial() })
}
