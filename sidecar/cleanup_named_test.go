package sidecar_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

// TestDeleteBackupsNamed: named backups are deleted in the order given;
// nothing is deleted when a name is not in the catalog, when a backup
// left is built on one of them, or when a live pin keeps one.
func TestDeleteBackupsNamed(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, sidecar.Options{})
	full := e.backup(t, model.KindFull)
	inc := e.backup(t, model.KindIncremental)
	newer := e.backup(t, model.KindFull)
	for _, c := range []struct {
		names []string
		says  string
	}{
		{[]string{"20200101T000000000Z"}, "the catalog does not hold it"},
		{[]string{full.Name}, "backup " + inc.Name + ", which is not deleted, is built on it"},
	} {
		if deleted, err := e.DeleteBackups(ctx, "shop", c.names); err == nil || !strings.Contains(err.Error(), c.says) || len(deleted) != 0 {
			t.Errorf("delete %v: %v, %v; want it refused saying %q", c.names, deleted, err, c.says)
		}
	}
	pin, err := e.TakePin(ctx, "shop", sidecar.PinRestore, "r-pin")
	if err != nil {
		t.Fatal(err)
	}
	pin.Narrow(ctx, inc.Name)
	if _, err := e.DeleteBackups(ctx, "shop", []string{inc.Name, full.Name}); err == nil || !strings.Contains(err.Error(), "pinned by") {
		t.Errorf("a pinned chain deleted: %v", err)
	}
	pin.Release(ctx)
	deleted, err := e.DeleteBackups(ctx, "shop", []string{inc.Name, full.Name})
	if err != nil || strings.Join(deleted, ",") != inc.Name+","+full.Name {
		t.Fatalf("delete the older chain: %v, %v", deleted, err)
	}
	cat, err := e.Catalog(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if all := cat.All(); len(all) != 1 || all[0].Name != newer.Name {
		t.Errorf("left %v, want only %s", all, newer.Name)
	}
}

// TestDeleteBackupsKeepsWhatTheObjectLockHolds: a set's retention deleting
// named backups the bucket's Object Lock still holds is refused, saying
// until when, and deletes nothing; once the lock lets go they are deleted.
func TestDeleteBackupsKeepsWhatTheObjectLockHolds(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: sidecar.T0}
	e := newEngine(t, sidecar.Options{})
	e.SetClock(clock.Now)
	e.store.EnableObjectLock("GOVERNANCE", 1, clock.Now)
	full := e.backup(t, model.KindFull)
	clock.Set(sidecar.T0.Add(time.Hour))
	e.backup(t, model.KindFull)

	clock.Set(sidecar.T0.Add(2 * time.Hour))
	deleted, err := e.DeleteBackups(ctx, "shop", []string{full.Name})
	if err == nil || !strings.Contains(err.Error(), "Object Lock (GOVERNANCE) keeps its objects until") || len(deleted) != 0 {
		t.Fatalf("a backup the lock holds: deleted %v, %v; want it refused naming the lock", deleted, err)
	}
	clock.Set(sidecar.T0.Add(25 * time.Hour))
	if deleted, err := e.DeleteBackups(ctx, "shop", []string{full.Name}); err != nil || len(deleted) != 1 {
		t.Fatalf("after the lock let go: deleted %v, %v", deleted, err)
	}
}
