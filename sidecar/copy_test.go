package sidecar_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
	"github.com/clickvault/clickvault/sidecar/model"
)

// memTransfer copies between two in-memory stores.
type memTransfer struct{ src, dst coord.ObjectStore }

func (m memTransfer) Transfer(ctx context.Context, srcKey, dstKey string, size int64) error {
	data, _, err := m.src.Get(ctx, srcKey)
	if err != nil {
		return err
	}
	if int64(len(data)) != size {
		return errors.New("size changed")
	}
	_, err = m.dst.Put(ctx, dstKey, data, coord.PutCondition{})
	return err
}

func (memTransfer) ServerSide() bool { return false }

func copyTarget(e *engine) (sidecar.CopyTarget, *memstore.ObjectStore) {
	dst := memstore.New()
	return sidecar.CopyTarget{Name: "dr", Store: dst, Layout: coord.Layout{Prefix: "dr"}, Transfer: memTransfer{e.store, dst},
		BaseRef: func(folder string) string { return "S3('http://dr/" + folder + "')" }}, dst
}

// TestCopyIsAChainAtTheTarget: a chain of three copied reads at the target
// as the same chain (each incremental linked to the copy of its base), and
// checks good there; a second round sends nothing.
func TestCopyIsAChainAtTheTarget(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	e.backup(t, model.KindFull)
	e.db.Create("shop", map[string]uint64{"orders": 11, "items": 5})
	e.backup(t, model.KindIncremental)
	e.db.Create("shop", map[string]uint64{"orders": 12, "items": 5})
	last := e.backup(t, model.KindIncremental)
	target, dst := copyTarget(e)
	ctx := context.Background()
	rep, err := e.Copy(ctx, target, "shop")
	if err != nil || len(rep.Copied) != 3 || rep.Sent == 0 || !rep.NewestPending.IsZero() || !rep.Newest.Equal(last.Time()) {
		t.Fatalf("copy: %+v, %v", rep, err)
	}
	if rep, err := e.Copy(ctx, target, "shop"); err != nil || rep.Already != 3 || rep.Sent != 0 || len(rep.Copied) != 0 {
		t.Fatalf("second copy: %+v, %v", rep, err)
	}
	atCopy := sidecar.NewService(dst, e.db.Ports(), nil, target.Layout, sidecar.Options{Holder: coord.Holder{Name: "test"}}, slog.New(slog.DiscardHandler))
	cat, err := atCopy.Catalog(ctx, "shop")
	if err != nil || len(cat.Chains) != 1 || len(cat.Chains[0].Members) != 3 || len(cat.Orphans) != 0 {
		t.Fatalf("the copy's catalog: %+v, %v", cat, err)
	}
	b, _ := cat.Find(last.Name)
	if !strings.HasPrefix(*b.BaseBackupPath, "dr/shop/") {
		t.Fatalf("the copy links to its base at %s", *b.BaseBackupPath)
	}
	if _, err := atCopy.Check(ctx, "shop", ""); err != nil {
		t.Fatalf("check of the copy: %v", err)
	}
}

// TestCopyOfABrokenBackupIsNeverCompleted: an object of the primary's
// first incremental is gone; the full is copied, the incremental and the
// one built on it are left pending with no metadata at the target, and the
// lag is the newest of them.
func TestCopyOfABrokenBackupIsNeverCompleted(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	e.backup(t, model.KindFull)
	e.db.Create("shop", map[string]uint64{"orders": 11, "items": 5}) // rows the incremental holds itself
	broken := e.backup(t, model.KindIncremental)
	last := e.backup(t, model.KindIncremental)
	ctx := context.Background()
	l, err := e.store.List(ctx, broken.Folder, true)
	if err != nil {
		t.Fatal(err)
	}
	var victim string
	for _, o := range l.Objects {
		if o.Key != coord.MetaKey(broken.Folder) && o.Key != coord.BackupFileKey(broken.Folder) && o.Size > 0 {
			victim = o.Key
		}
	}
	if err := e.store.Delete(ctx, []string{victim}); err != nil {
		t.Fatal(err)
	}
	target, dst := copyTarget(e)
	rep, err := e.Copy(ctx, target, "shop")
	if err == nil || !strings.Contains(err.Error(), victim) {
		t.Fatalf("copy of a broken backup: %v, want an error naming %s", err, victim)
	}
	if len(rep.Copied) != 1 || len(rep.Pending) != 2 || !rep.NewestPending.Equal(last.Time()) {
		t.Fatalf("report: %+v", rep)
	}
	for _, b := range []model.Backup{broken, last} {
		key := coord.MetaKey(target.Layout.Folder("shop", string(b.Kind), b.Name))
		if ok, _ := dst.Exists(ctx, key); ok {
			t.Fatalf("%s is at the target: a broken copy looks completed", key)
		}
	}
}
