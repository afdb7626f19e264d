package sidecar_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// twoChains makes an old chain (a full and an incremental) and a newer one
// (a full): with keep_full_backups = 1, a cleanup deletes the old chain.
func twoChains(t *testing.T) (*engine, model.Backup, model.Backup) {
	t.Helper()
	e := newEngine(t, sidecar.Options{Retention: model.Retention{KeepFullBackups: 1}})
	full := e.backup(t, "")
	incr := e.backup(t, "")
	e.backup(t, model.KindFull)
	return e, full, incr
}

func (e *engine) pins(t *testing.T) []coord.PinInfo {
	t.Helper()
	ctx := context.Background()
	l, err := e.store.List(ctx, testLayout.PinsRoot("shop"), true)
	if err != nil {
		t.Fatal(err)
	}
	var out []coord.PinInfo
	for _, o := range l.Objects {
		data, _, err := e.store.Get(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		var p coord.PinInfo
		if err := json.Unmarshal(data, &p); err != nil {
			t.Fatalf("pin %s: %v", o.Key, err)
		}
		out = append(out, p)
	}
	return out
}

// TestCleanupKeepsPinnedChain: a pin on the old chain's incremental keeps
// it and the full it is built on, in a dry run and a real cleanup, and
// both report the pin; once released, the chain is deleted.
func TestCleanupKeepsPinnedChain(t *testing.T) {
	e, full, incr := twoChains(t)
	ctx := context.Background()
	pin, err := e.TakePin(ctx, "shop", sidecar.PinRestore, "req-42")
	if err != nil || pin == nil {
		t.Fatalf("take pin: %v", err)
	}
	pin.Narrow(ctx, incr.Name)
	if ps := e.pins(t); len(ps) != 1 || ps[0].Backup != incr.Name || ps[0].RequestID != "req-42" || ps[0].Holder != "test" {
		t.Fatalf("pin object: %+v", ps)
	}
	for _, dry := range []bool{true, false} {
		rep, err := e.Cleanup(ctx, "shop", dry)
		if err != nil || len(rep.Planned) != 0 || len(rep.Deleted) != 0 {
			t.Fatalf("dry %v: the pinned chain is planned for deletion: %v, %+v", dry, err, rep.Planned)
		}
		notes := strings.Join(rep.PinNotes(), "\n")
		if len(rep.Pins) != 1 || !strings.Contains(notes, "kept backup "+incr.Name) ||
			!strings.Contains(notes, "pinned by restore req-42 on test since") {
			t.Fatalf("dry %v: report says %q", dry, notes)
		}
		kept := map[string]string{}
		for _, k := range rep.Keeps {
			kept[k.Backup.Name] = strings.Join(k.Rules, ",") + "|" + k.NeededBy
		}
		if !strings.Contains(kept[incr.Name], "pinned by restore req-42") || kept[full.Name] != "|"+incr.Name {
			t.Fatalf("dry %v: keeps %v", dry, kept)
		}
	}
	pin.Release(ctx)
	if ps := e.pins(t); len(ps) != 0 {
		t.Fatalf("released pin still there: %+v", ps)
	}
	rep, err := e.Cleanup(ctx, "shop", false)
	if err != nil || len(rep.Deleted) != 2 || rep.Deleted[1] != full.Name {
		t.Fatalf("after release: %v, %+v", err, rep)
	}
}

// TestCleanupIgnoresStalePin: a pin whose heartbeat is older than
// PinStaleAfter (its holder died) protects nothing; the cleanup says so
// and removes it. One a little younger still protects.
func TestCleanupIgnoresStalePin(t *testing.T) {
	e, full, incr := twoChains(t)
	ctx := context.Background()
	pin, err := e.TakePin(ctx, "shop", sidecar.PinVerify, "")
	if err != nil {
		t.Fatal(err)
	}
	pin.Narrow(ctx, incr.Name)
	pin.Release(ctx)
	// A holder that died leaves its pin: write it back as it was.
	dead := coord.PinInfo{ID: "dead", Database: "shop", Backup: incr.Name, Action: sidecar.PinVerify,
		Holder: "gone-host", Since: time.Now().UTC(), Heartbeat: time.Now().UTC()}
	data, _ := json.Marshal(dead)
	if _, err := e.store.Put(ctx, testLayout.PinKey("shop", "dead"), data, coord.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	e.SetClock(func() time.Time { return time.Now().Add(coord.PinStaleAfter - 5*time.Second) })
	if rep, err := e.Cleanup(ctx, "shop", true); err != nil || len(rep.Planned) != 0 || len(rep.Pins) != 1 {
		t.Fatalf("a pin not yet stale is ignored: %v, %+v", err, rep)
	}
	e.SetClock(func() time.Time { return time.Now().Add(coord.PinStaleAfter + 5*time.Second) })
	rep, err := e.Cleanup(ctx, "shop", false)
	if err != nil || len(rep.Deleted) != 2 || rep.Deleted[1] != full.Name {
		t.Fatalf("a stale pin kept the chain: %v, %+v", err, rep)
	}
	notes := strings.Join(rep.PinNotes(), "\n")
	if len(rep.IgnoredPins) != 1 || !rep.IgnoredPins[0].Removed ||
		!strings.Contains(notes, "ignored the pin of verify on gone-host since") || !strings.Contains(notes, "stale") {
		t.Fatalf("report: %q", notes)
	}
	if ps := e.pins(t); len(ps) != 0 {
		t.Fatalf("stale pin not removed: %+v", ps)
	}
}

// TestPinWithoutBackupKeepsAll: a pin that names no backup yet (its holder
// is choosing one, or a check reads them all) keeps every backup.
func TestPinWithoutBackupKeepsAll(t *testing.T) {
	e, _, _ := twoChains(t)
	ctx := context.Background()
	pin, err := e.TakePin(ctx, "shop", sidecar.PinCheck, "")
	if err != nil {
		t.Fatal(err)
	}
	defer pin.Release(ctx)
	rep, err := e.Cleanup(ctx, "shop", false)
	notes := strings.Join(rep.PinNotes(), "\n")
	if err != nil || len(rep.Deleted) != 0 || !strings.Contains(notes, "kept every backup of shop: pinned by check") {
		t.Fatalf("cleanup under a database pin: %v, %+v, %q", err, rep.Deleted, notes)
	}
}

// TestRestorePinsUntilDone: a restore of the old chain, held in ClickHouse,
// pins it; a cleanup meanwhile keeps it; the pin is gone when the restore
// ends and the next cleanup deletes the chain.
func TestRestorePinsUntilDone(t *testing.T) {
	e, full, incr := twoChains(t)
	ctx := context.Background()
	e.db.Hold()
	done := make(chan error, 1)
	go func() {
		_, err := e.Restore(ctx, sidecar.RestoreRequest{Database: "shop", Backup: incr.Name, Target: "copy", RequestID: "req-7"})
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for ps := e.pins(t); len(ps) != 1 || ps[0].Backup != incr.Name; ps = e.pins(t) {
		if time.Now().After(deadline) {
			t.Fatalf("no pin naming %s while the restore runs: %+v", incr.Name, ps)
		}
		time.Sleep(time.Millisecond)
	}
	rep, err := e.Cleanup(ctx, "shop", false)
	if err != nil || len(rep.Deleted) != 0 || len(rep.Pins) != 1 || rep.Pins[0].RequestID != "req-7" {
		t.Fatalf("cleanup during the restore: %v, %+v", err, rep)
	}
	e.db.Release()
	if err := <-done; err != nil {
		t.Fatalf("restore: %v", err)
	}
	if ps := e.pins(t); len(ps) != 0 {
		t.Fatalf("pin left after the restore: %+v", ps)
	}
	rep, err = e.Cleanup(ctx, "shop", false)
	if err != nil || len(rep.Deleted) != 2 || rep.Deleted[1] != full.Name {
		t.Fatalf("after the restore: %v, %+v", err, rep)
	}
}

// TestPinWaitsForCleanup: a pin taken while a cleanup holds the lease (it
// may have listed the pins already) waits until the cleanup ends.
func TestPinWaitsForCleanup(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	ctx := context.Background()
	lease, err := coord.AcquireLease(ctx, e.store, testLayout.LeaseKey("shop"), coord.Holder{Name: "other"}, coord.PurposeCleanup,
		time.Minute, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *coord.Pin, 1)
	go func() {
		p, _ := e.TakePin(ctx, "shop", sidecar.PinRestore, "r")
		got <- p
	}()
	select {
	case <-got:
		t.Fatal("the pin did not wait for the cleanup holding the lease")
	case <-time.After(50 * time.Millisecond):
	}
	if err := lease.Release(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		p.Release(ctx)
	case <-time.After(5 * time.Second):
		t.Fatal("the pin still waits after the cleanup ended")
	}
}

// TestPinHeartbeat: a held pin's heartbeat moves on; it stops on release.
func TestPinHeartbeat(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	e.SetPinHeartbeat(5 * time.Millisecond)
	ctx := context.Background()
	pin, err := e.TakePin(ctx, "shop", sidecar.PinVerify, "")
	if err != nil {
		t.Fatal(err)
	}
	first := e.pins(t)[0].Heartbeat
	deadline := time.Now().Add(5 * time.Second)
	for e.pins(t)[0].Heartbeat.Equal(first) {
		if time.Now().After(deadline) {
			t.Fatal("the heartbeat was not renewed")
		}
		time.Sleep(time.Millisecond)
	}
	pin.Release(ctx)
	// Release returns once no renewal is in flight; what is checked is an
	// absence: four beats (5 ms each) pass and no renewal brings it back.
	time.Sleep(4 * 5 * time.Millisecond)
	if ps := e.pins(t); len(ps) != 0 {
		t.Fatalf("a renewal brought the released pin back: %+v", ps)
	}
}
