package coord_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

var discard = slog.New(slog.DiscardHandler)

// ignoring is a store that ignores conditional writes: it writes whatever
// it is sent, as some S3-compatible stores do.
type ignoring struct{ *memstore.ObjectStore }

func (s ignoring) Put(ctx context.Context, key string, data []byte, _ coord.PutCondition) (string, error) {
	return s.ObjectStore.Put(ctx, key, data, coord.PutCondition{})
}

// TestProbeConditionalWrites: a store that honours If-None-Match and
// If-Match passes and keeps nothing; one that ignores them is refused.
func TestProbeConditionalWrites(t *testing.T) {
	good := memstore.New()
	b := coord.New(good, coord.Config{Layout: coord.Layout{Prefix: "p"}}, discard)
	if err := b.ProbeConditionalWrites(context.Background()); err != nil {
		t.Fatalf("a store with conditional writes: %v", err)
	}
	if l, _ := good.List(context.Background(), "", true); len(l.Objects) != 0 {
		t.Fatalf("the probe left %d objects", len(l.Objects))
	}
	b = coord.New(ignoring{memstore.New()}, coord.Config{Layout: coord.Layout{Prefix: "p"}}, discard)
	if err := b.ProbeAndClaim(context.Background()); !errors.Is(err, coord.ErrNoConditionalWrites) {
		t.Fatalf("a store that ignores conditional writes: want ErrNoConditionalWrites, got %v", err)
	}
}

// silent is a store that takes requests and never answers: each waits
// for its context to end; Delete says whether its context could.
type silent struct {
	*memstore.ObjectStore
	deleteBounded chan bool
}

func (s silent) Put(ctx context.Context, _ string, _ []byte, _ coord.PutCondition) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

func (s silent) Delete(ctx context.Context, _ []string) error {
	_, bounded := ctx.Deadline()
	s.deleteBounded <- bounded
	if !bounded {
		return errors.New("unbounded: this delete would wait for ever on a silent store")
	}
	return nil // bounded, it would end with its deadline: no need to wait for it
}

// TestProbeOfASilentStoreEnds: on a store that never answers, the probe
// ends when its context does, and the removal of its throw-away object is
// bounded too: it held start-up and shutdown for minutes when it was not.
func TestProbeOfASilentStoreEnds(t *testing.T) {
	store := silent{ObjectStore: memstore.New(), deleteBounded: make(chan bool, 1)}
	b := coord.New(store, coord.Config{Layout: coord.Layout{Prefix: "p"}}, discard)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.ProbeConditionalWrites(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the probe of a silent store: %v, want the context's deadline", err)
	}
	if !<-store.deleteBounded {
		t.Fatal("the probe's cleanup ran with no deadline")
	}
}

// TestPrefixOwner: the first deployment's name is recorded; another is
// refused naming both; the owner goes on.
func TestPrefixOwner(t *testing.T) {
	store, ctx := memstore.New(), context.Background()
	bucket := func(deployment string) *coord.Bucket {
		return coord.New(store, coord.Config{Layout: coord.Layout{Prefix: "p"}, Deployment: deployment}, discard)
	}
	if err := bucket("prod").ProbeAndClaim(ctx); err != nil {
		t.Fatal(err)
	}
	err := bucket("staging").ClaimOwnership(ctx)
	if !errors.Is(err, coord.ErrOtherDeployment) || !strings.Contains(err.Error(), `"prod"`) || !strings.Contains(err.Error(), `"staging"`) {
		t.Fatalf("another deployment: %v", err)
	}
	if err := bucket("").ClaimOwnership(ctx); !errors.Is(err, coord.ErrOtherDeployment) || !strings.Contains(err.Error(), "(unnamed)") {
		t.Fatalf("an unnamed deployment: %v", err)
	}
	if err := bucket("prod").ClaimOwnership(ctx); err != nil {
		t.Fatalf("the owner again: %v", err)
	}
}

// TestStableHolderTakesBackItsLease: a sidecar restarted after a crash
// takes back its own live lease; a CLI run of the same name does not.
func TestStableHolderTakesBackItsLease(t *testing.T) {
	store, ctx := memstore.New(), context.Background()
	sc := coord.Holder{Name: "host/127.0.0.1:7480", Stable: true}
	if _, err := coord.AcquireLease(ctx, store, "k", sc, coord.PurposeBackup, time.Minute, time.Now, discard); err != nil {
		t.Fatal(err)
	}
	if _, err := coord.AcquireLease(ctx, store, "k", sc, coord.PurposeBackup, time.Minute, time.Now, discard); err != nil {
		t.Fatalf("the same sidecar after a restart: %v", err)
	}
	cli := coord.Holder{Name: "host/127.0.0.1:7480"}
	var held *coord.LeaseHeldError
	if _, err := coord.AcquireLease(ctx, store, "k", cli, coord.PurposeBackup, time.Minute, time.Now, discard); !errors.As(err, &held) {
		t.Fatalf("an unstable holder of the same name: %v", err)
	}
	if held.Info.Holder != sc.Name || !strings.Contains(held.Error(), "the chain is locked by "+sc.Name) {
		t.Fatalf("the refusal names %q: %v", held.Info.Holder, held)
	}
}

// TestClaims: one sidecar wins a request; the winner wins again (after a
// restart, with the same name); another live sidecar loses; once the
// winner's heartbeat has expired, another takes the request over.
func TestClaims(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	layout := coord.Layout{Prefix: "p"}
	a, b := coord.NewClaims(store, layout, "a", discard), coord.NewClaims(store, layout, "b", discard)
	now := time.Now()
	a.SetClock(func() time.Time { return now })
	b.SetClock(func() time.Time { return now })
	for _, c := range []*coord.Claims{a, b} {
		if err := c.Beat(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		c    *coord.Claims
		name string
		want bool
	}{{a, "a", true}, {a, "a", true}, {b, "b", false}} {
		if won, err := step.c.Claim(ctx, "r1"); err != nil || won != step.want {
			t.Fatalf("claim by %s: %v, %v; want %v", step.name, won, err, step.want)
		}
	}
	if live, err := b.LiveSidecars(ctx); err != nil || len(live) != 2 {
		t.Fatalf("live sidecars: %v, %v; want a and b", live, err)
	}
	later := now.Add(coord.HeartbeatTTL + time.Second)
	b.SetClock(func() time.Time { return later })
	if won, err := b.Claim(ctx, "r1"); err != nil || !won {
		t.Fatalf("take over from a sidecar whose heartbeat expired: %v, %v", won, err)
	}
	if err := b.Drop(ctx, []string{"r1"}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := store.Exists(ctx, layout.ClaimKey("r1")); ok {
		t.Fatal("a dropped claim is still there")
	}
}

// TestSlots: of two sidecars, one takes a schedule's slot, once; the next
// slot is taken again.
func TestSlots(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	layout := coord.Layout{Prefix: "p"}
	a, b := coord.NewClaims(store, layout, "a", discard), coord.NewClaims(store, layout, "b", discard)
	now := time.Unix(3600*100, 0)
	a.SetClock(func() time.Time { return now })
	b.SetClock(func() time.Time { return now })
	for _, step := range []struct {
		c    *coord.Claims
		want bool
	}{{a, true}, {b, false}, {a, false}} {
		if took, _, err := step.c.TakeSlot(ctx, coord.BackupSchedule, "shop", time.Hour); err != nil || took != step.want {
			t.Fatalf("take the slot: %v, %v; want %v", took, err, step.want)
		}
	}
	if took, _, _ := b.TakeSlot(ctx, coord.CheckSchedule, "shop", time.Hour); !took {
		t.Fatal("the check schedule's slot is its own")
	}
	now = now.Add(time.Hour)
	if took, _, _ := b.TakeSlot(ctx, coord.BackupSchedule, "shop", time.Hour); !took {
		t.Fatal("the next slot")
	}
}

// TestUpdateChecks: a damaged check file is replaced; two updates both land.
func TestUpdateChecks(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	layout := coord.Layout{Prefix: "p"}
	b := coord.New(store, coord.Config{Layout: layout}, discard)
	if _, err := store.Put(ctx, layout.CheckKey("shop"), []byte("{damaged"), coord.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	type results struct{ Names []string }
	for _, n := range []string{"a", "b"} {
		if err := coord.UpdateChecks(ctx, b, "shop", func(r *results) { r.Names = append(r.Names, n) }); err != nil {
			t.Fatal(err)
		}
	}
	var got results
	if err := b.ReadChecks(ctx, "shop", &got); err != nil || strings.Join(got.Names, ",") != "a,b" {
		t.Fatalf("check results %v, %v; want a,b", got, err)
	}
}

// TestUpdateChecksReadsAgainAfterADelete: check results deleted between
// their read and the write (S3 answers the If-Match 404) are read again
// and written anew, not reported as a failed write.
func TestUpdateChecksReadsAgainAfterADelete(t *testing.T) {
	ctx := context.Background()
	store := &memstore.DeletedBeforeWrite{ObjectStore: memstore.New()}
	layout := coord.Layout{Prefix: "p"}
	b := coord.New(store, coord.Config{Layout: layout}, discard)
	type results struct{ Names []string }
	for _, n := range []string{"a", "b"} {
		if err := coord.UpdateChecks(ctx, b, "shop", func(r *results) { r.Names = append(r.Names, n) }); err != nil {
			t.Fatalf("update %s: %v", n, err)
		}
	}
	var got results
	if err := b.ReadChecks(ctx, "shop", &got); err != nil || strings.Join(got.Names, ",") != "b" {
		t.Fatalf("check results %v, %v; want b (a was deleted under the second update)", got, err)
	}
}

// TestClaimDroppedDuringATakeover: a stopped sidecar's claim dropped
// between another's read of it and its conditional takeover (S3 answers
// the If-Match 404; a claim is dropped once its request was answered) is
// not a claim won, and no error either: the request is not to be run.
func TestClaimDroppedDuringATakeover(t *testing.T) {
	ctx := context.Background()
	store := &memstore.DeletedBeforeWrite{ObjectStore: memstore.New()}
	layout := coord.Layout{Prefix: "p"}
	if ok, err := coord.NewClaims(store, layout, "a", discard).Claim(ctx, "r1"); err != nil || !ok {
		t.Fatalf("the first claim: %v, %v", ok, err)
	}
	ok, err := coord.NewClaims(store, layout, "b", discard).Claim(ctx, "r1") // a has no heartbeat: stopped
	if err != nil || ok {
		t.Fatalf("a takeover of a claim dropped meanwhile: won %v, %v; want not won, no error", ok, err)
	}
}
